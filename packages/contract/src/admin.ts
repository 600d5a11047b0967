import { Type, type Static } from '@sinclair/typebox';
import { User } from './auth.js';

export const AdminUser = Type.Composite([User, Type.Object({ vm_count: Type.Integer() })], {
  title: 'AdminUser',
});
export type AdminUser = Static<typeof AdminUser>;

export const UpdateUserRequest = Type.Object(
  { is_active: Type.Optional(Type.Boolean()), is_admin: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserRequest = Static<typeof UpdateUserRequest>;

export const AdjustCreditsRequest = Type.Object(
  {
    amount: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000, not: { const: 0 } }),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type AdjustCreditsRequest = Static<typeof AdjustCreditsRequest>;

export const AdjustCreditsResponse = Type.Object({
  user_id: Type.Integer(),
  new_balance: Type.Integer(),
  adjustment: Type.Integer(),
});
export type AdjustCreditsResponse = Static<typeof AdjustCreditsResponse>;
