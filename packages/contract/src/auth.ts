import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN } from './constants.js';

export const Username = Type.String({
  pattern: USERNAME_PATTERN,
  description: '3–32 characters: lower-case letters, digits, _ or -, starting with a letter',
});
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH });

export const RegisterRequest = Type.Object(
  { username: Username, email: Email, password: Password },
  { additionalProperties: false },
);
export type RegisterRequest = Static<typeof RegisterRequest>;

/** The seed's user shape, kept field for field. */
export const User = Type.Object(
  {
    id: Type.Integer(),
    username: Type.String(),
    email: Type.String(),
    is_admin: Type.Boolean(),
    is_active: Type.Boolean(),
    credits: Type.Integer(),
    created_at: Timestamp,
  },
  { title: 'User' },
);
export type User = Static<typeof User>;

export const LoginRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 254, description: 'Username or e-mail' }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
    /** true: the browser flow. Sets an httpOnly session cookie and returns no token. */
    cookie: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof LoginRequest>;

export const BearerLoginResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_at: Timestamp,
});
export const CookieLoginResponse = Type.Object({
  token_type: Type.Literal('cookie'),
  expires_at: Timestamp,
  csrf_token: Type.String(),
  user: User,
});
export const LoginResponse = Type.Union([BearerLoginResponse, CookieLoginResponse]);
export type BearerLoginResponse = Static<typeof BearerLoginResponse>;
export type CookieLoginResponse = Static<typeof CookieLoginResponse>;
export type LoginResponse = Static<typeof LoginResponse>;

export const ChangePasswordRequest = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }), new_password: Password },
  { additionalProperties: false },
);
export type ChangePasswordRequest = Static<typeof ChangePasswordRequest>;
