/** Authentication: the middleware, and the pure verification functions behind it. */
export {
  createAuthMiddleware, accessTokenLocation, authChallenge, type AuthMiddlewareOptions,
  MSG_AUTH_REQUIRED, MSG_INVALID_BEARER, MSG_INVALID_BASIC, MSG_MALFORMED, MSG_CREDENTIALS_IN_URL,
} from './middleware.ts';
export { verifyBearerToken, createBearerStrategy } from './bearer.ts';
export { verifyBasicCredentials, createBasicVerifier, createBasicStrategy, bcryptCompare, type PasswordCompare, type BasicVerifier, type BasicVerifierOptions } from './basic.ts';
export { parseAuthorization, type AuthorizationHeader } from './header.ts';
