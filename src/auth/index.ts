/** Authentication: providers (one per method) registered as passport strategies, and the middleware. */
export { createAuthenticator, MSG_AUTH_REQUIRED, MSG_MALFORMED, type Authenticator } from './authenticate.ts';
export { ProviderStrategy, type AuthInput, type AuthOutcome, type AuthProvider, type StrategyOptions } from './provider.ts';
export { createProvider, type ProviderSeams } from './providers/index.ts';
export { bearerTokensProvider, verifyBearerToken, MSG_INVALID_BEARER } from './providers/bearer-tokens.ts';
export {
  basicProvider, bcryptCompare, createBasicVerifier, verifyBasicCredentials, MSG_INVALID_BASIC,
  type BasicVerifier, type BasicVerifierOptions, type PasswordCompare,
} from './providers/basic.ts';
export { parseAuthorization, type AuthorizationHeader } from './header.ts';
