import { Type, type Static } from '@sinclair/typebox';
import { USER_DATA_MAX_BYTES, VM_NAME_PATTERN, VM_TAG_PATTERN } from '@twarga/contract';
import { PageQuery } from './pagination.js';

const Name = Type.String({ pattern: VM_NAME_PATTERN, maxLength: 63 });
const Tag = Type.String({ pattern: VM_TAG_PATTERN });
/**
 * godo sends nil slices as null. Null comes first: the server's ajv coerces types, and tried
 * against an array first a null would become [null] (then [0]).
 */
const orNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Optional(Type.Union([Type.Null(), t]));

/**
 * DO's droplet create body (godo DropletCreateRequest / DropletMultiCreateRequest). Fields we do
 * not act on are accepted (scripts send them with their defaults); the route refuses the ones
 * whose promise we cannot keep (backups, volumes).
 */
export const CreateDropletBody = Type.Object(
  {
    name: Type.Optional(Name),
    /** DO creates at most 10 droplets per request. */
    names: Type.Optional(Type.Array(Name, { minItems: 1, maxItems: 10 })),
    /** A compute host's name pins the droplet there; DO's own region slugs (nyc3…) and "" mean anywhere. */
    region: orNull(Type.String({ maxLength: 64 })),
    size: Type.String({ minLength: 1, maxLength: 64 }),
    /** An image id (images.id), a DO distribution slug (ubuntu-24-04-x64) or our slug. Integer first: "7" is id 7. */
    image: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 128 })]),
    ssh_keys: orNull(Type.Array(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 128 })]), { maxItems: 32 })),
    user_data: orNull(Type.String({ maxLength: USER_DATA_MAX_BYTES })),
    tags: orNull(Type.Array(Tag, { maxItems: 64 })),
    backups: orNull(Type.Boolean()),
    volumes: orNull(Type.Array(Type.Unknown())),
    ipv6: orNull(Type.Boolean()),
    private_networking: orNull(Type.Boolean()),
    monitoring: orNull(Type.Boolean()),
    vpc_uuid: orNull(Type.String()),
    with_droplet_agent: orNull(Type.Boolean()),
  },
  { additionalProperties: true },
);
export type CreateDropletBody = Static<typeof CreateDropletBody>;

export const DropletListQuery = Type.Object({
  ...PageQuery.properties,
  tag_name: Type.Optional(Tag),
  name: Type.Optional(Type.String({ maxLength: 255 })),
});
export type DropletListQuery = Static<typeof DropletListQuery>;

export const TagQuery = Type.Object({ tag_name: Type.Optional(Type.String()) });

export const DropletIdParam = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const DropletActionParams = Type.Object({ id: Type.Integer({ minimum: 1 }), action_id: Type.Integer({ minimum: 1 }) });

/** DO's droplet action body: the type, and fields of types we do not take (ignored). */
export const DropletActionBody = Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true });
