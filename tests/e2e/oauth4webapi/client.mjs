#!/usr/bin/env node
// Independent OAuth 2.0 / OpenID Connect client built on the npm package oauth4webapi (pinned
// 3.8.9). It exercises a FAPI 2.0 style flow against the server under test:
//   - Pushed Authorization Requests (RFC 9126)
//   - DPoP sender-constrained tokens (RFC 9449), with the documented one-time retry on
//     `use_dpop_nonce`
//   - private_key_jwt client authentication (RFC 7523 / OIDC Core 9)
//   - PKCE S256 (RFC 7636), RFC 9207 `iss` authorization response parameter
//
// Usage: node client.mjs <code|client_credentials>
// Environment: ISSUER, CLIENT_ID, CLIENT_PRIVATE_JWK, REDIRECT_URI, SCOPE (default "openid email"),
//              optional CLIENT_TIMEOUT_SECS (default 60).
// stdout: exactly one JSON object per line (see README.md); diagnostics go to stderr.
// stdin (mode "code" only): one JSON line {"callback":"<full redirect URL>"}.

import * as oauth from 'oauth4webapi';
import * as readline from 'node:readline';

const TIMEOUT_SECS = Number(process.env.CLIENT_TIMEOUT_SECS) > 0 ? Number(process.env.CLIENT_TIMEOUT_SECS) : 60;

// ---------------------------------------------------------------------------------------------
// Output helpers

function writeLine(obj) {
  const line = `${JSON.stringify(obj)}\n`;
  return new Promise((resolve) => {
    process.stdout.write(line, () => resolve());
  });
}

function log(...args) {
  console.error('[oauth4webapi-client]', ...args);
}

let exiting = false;

async function fail(message, error = '', description = '') {
  if (exiting) return;
  exiting = true;
  await writeLine({
    step: 'error',
    message: String(message),
    error: error ? String(error) : '',
    description: description ? String(description) : '',
  });
  process.exit(1);
}

// Maps any thrown value to the {message, error, description} of the error line.
function describeError(err) {
  let error = '';
  let description = '';
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.AuthorizationResponseError) {
    error = err.error || '';
    description = err.error_description || '';
    if (err instanceof oauth.ResponseBodyError) message += ` (HTTP ${err.status})`;
  } else if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const withError = err.cause.find((c) => c.parameters && c.parameters.error) || err.cause[0];
    error = withError?.parameters?.error || '';
    description = withError?.parameters?.error_description || '';
    message += ` (HTTP ${err.status})`;
  }
  if (err && typeof err.code === 'string') message = `${err.code}: ${message}`;
  // fetch() failures ("fetch failed") carry the real reason (e.g. ECONNREFUSED) in `cause`.
  if (err instanceof TypeError && err.cause instanceof Error) message += ` (${err.cause.message})`;
  return { message, error, description };
}

function logErrorDetails(err) {
  if (err instanceof Error) {
    log(err.stack || err.message);
    if (err.cause !== undefined) {
      try {
        log('cause:', JSON.stringify(err.cause, (_k, v) => {
          if (v instanceof URLSearchParams) return Object.fromEntries(v);
          if (v instanceof Response) return `<Response ${v.status}>`;
          return v;
        }));
      } catch {
        log('cause:', err.cause);
      }
    }
  } else {
    log(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

function requireEnv(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`missing required environment variable ${name}`);
  }
  return value;
}

async function loadConfig(mode) {
  const issuer = new URL(requireEnv('ISSUER'));
  const clientId = requireEnv('CLIENT_ID');
  const redirectUri = mode === 'code' ? requireEnv('REDIRECT_URI') : process.env.REDIRECT_URI;
  const scope = process.env.SCOPE === undefined ? 'openid email' : process.env.SCOPE.trim();

  let jwk;
  try {
    jwk = JSON.parse(requireEnv('CLIENT_PRIVATE_JWK'));
  } catch (err) {
    throw new Error(`CLIENT_PRIVATE_JWK is not valid JSON: ${err.message}`);
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') {
    throw new Error('CLIENT_PRIVATE_JWK must be a private EC P-256 JWK');
  }
  // Only the key material is handed to WebCrypto; kid/alg/use stay out of the import.
  const key = await crypto.subtle.importKey(
    'jwk',
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d },
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const clientPrivateKey = jwk.kid ? { key, kid: jwk.kid } : { key };

  return { issuer, clientId, redirectUri, scope, clientPrivateKey };
}

// ---------------------------------------------------------------------------------------------
// Protocol helpers

// The documented oauth4webapi pattern: the DPoP handle caches the server's DPoP-Nonce from every
// response; when the processed response is a `use_dpop_nonce` error (token endpoint JSON body or
// resource server WWW-Authenticate challenge), the request is sent once more with that nonce.
async function withDPoPNonceRetry(label, request, processResponse) {
  let response = await request();
  try {
    return await processResponse(response);
  } catch (err) {
    if (oauth.isDPoPNonceError(err)) {
      log(`${label}: server requires a DPoP nonce, retrying once with the cached nonce`);
      response = await request();
      return processResponse(response);
    }
    throw err;
  }
}

function readStdinLine() {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    let done = false;
    rl.on('line', (line) => {
      if (done || line.trim() === '') return;
      done = true;
      rl.close();
      resolve(line);
    });
    rl.on('close', () => {
      if (!done) {
        done = true;
        reject(new Error('stdin closed before a callback line was received'));
      }
    });
  });
}

async function discover(issuer, httpOptions) {
  const response = await oauth.discoveryRequest(issuer, { ...httpOptions, algorithm: 'oidc' });
  const as = await oauth.processDiscoveryResponse(issuer, response);
  log(`discovered ${as.issuer}`);
  return as;
}

// ---------------------------------------------------------------------------------------------
// Modes

async function runCode(cfg) {
  const httpOptions = cfg.issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};

  // 1. Discovery, DPoP key, PKCE, state.
  const as = await discover(cfg.issuer, httpOptions);
  const client = { client_id: cfg.clientId };
  const clientAuth = oauth.PrivateKeyJwt(cfg.clientPrivateKey);
  const dpopKeys = await oauth.generateKeyPair('ES256');
  const DPoP = oauth.DPoP(client, dpopKeys);
  const dpopJkt = await DPoP.calculateThumbprint();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const state = oauth.generateRandomState();

  // 2. Pushed Authorization Request.
  const parParams = new URLSearchParams();
  parParams.set('response_type', 'code');
  parParams.set('redirect_uri', cfg.redirectUri);
  if (cfg.scope) parParams.set('scope', cfg.scope);
  parParams.set('code_challenge', codeChallenge);
  parParams.set('code_challenge_method', 'S256');
  parParams.set('state', state);

  const par = await withDPoPNonceRetry(
    'pushed authorization request',
    () => oauth.pushedAuthorizationRequest(as, client, clientAuth, parParams, { ...httpOptions, DPoP }),
    (response) => oauth.processPushedAuthorizationResponse(as, client, response),
  );
  if (!as.authorization_endpoint) {
    throw new Error('authorization server metadata has no authorization_endpoint');
  }
  const authorizationUrl = new URL(as.authorization_endpoint);
  authorizationUrl.searchParams.set('client_id', client.client_id);
  authorizationUrl.searchParams.set('request_uri', par.request_uri);
  await writeLine({
    step: 'authorize',
    url: authorizationUrl.href,
    request_uri: par.request_uri,
    expires_in: par.expires_in,
  });

  // 3. Callback, code exchange.
  const inputLine = await readStdinLine();
  let input;
  try {
    input = JSON.parse(inputLine);
  } catch (err) {
    throw new Error(`stdin line is not valid JSON: ${err.message}`);
  }
  if (!input || typeof input.callback !== 'string') {
    throw new Error('stdin line must be {"callback":"<redirect URL>"}');
  }
  let callbackUrl;
  try {
    callbackUrl = new URL(input.callback);
  } catch {
    throw new Error(`callback is not a URL: ${input.callback}`);
  }
  // FAPI 2.0 requires RFC 9207; insist on `iss` even when the metadata does not advertise
  // authorization_response_iss_parameter_supported (validateAuthResponse then checks its value).
  if (!callbackUrl.searchParams.has('iss')) {
    throw new Error('authorization response has no "iss" parameter (RFC 9207)');
  }
  const callbackParams = oauth.validateAuthResponse(as, client, callbackUrl, state);

  const wantIdToken = cfg.scope.split(/\s+/).includes('openid');
  const tokens = await withDPoPNonceRetry(
    'authorization code grant',
    () =>
      oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        callbackParams,
        cfg.redirectUri,
        codeVerifier,
        { ...httpOptions, DPoP },
      ),
    (response) => oauth.processAuthorizationCodeResponse(as, client, response, { requireIdToken: wantIdToken }),
  );
  const idClaims = oauth.getValidatedIdTokenClaims(tokens);
  const sub = idClaims?.sub ?? '';
  await writeLine({
    step: 'tokens',
    token_type: tokens.token_type,
    sub,
    scope: tokens.scope ?? '',
    has_refresh_token: typeof tokens.refresh_token === 'string',
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? '',
    dpop_jkt: dpopJkt,
  });

  const userinfo = (accessToken) =>
    withDPoPNonceRetry(
      'userinfo',
      () => oauth.userInfoRequest(as, client, accessToken, { ...httpOptions, DPoP }),
      (response) => oauth.processUserInfoResponse(as, client, sub || oauth.skipSubjectCheck, response),
    );

  // 4. UserInfo.
  await writeLine({ step: 'userinfo', claims: await userinfo(tokens.access_token) });

  // 5. Refresh, UserInfo with the new access token.
  if (typeof tokens.refresh_token !== 'string') {
    throw new Error('no refresh_token was issued, cannot continue with the refresh grant');
  }
  const refreshed = await withDPoPNonceRetry(
    'refresh token grant',
    () => oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, { ...httpOptions, DPoP }),
    (response) => oauth.processRefreshTokenResponse(as, client, response),
  );
  await writeLine({
    step: 'refreshed',
    token_type: refreshed.token_type,
    access_token: refreshed.access_token,
    has_refresh_token: typeof refreshed.refresh_token === 'string',
  });
  await writeLine({ step: 'userinfo', claims: await userinfo(refreshed.access_token) });

  // 6. Introspection of the new access token.
  const introspection = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, {
      ...httpOptions,
      additionalParameters: { token_type_hint: 'access_token' },
    }),
  );
  await writeLine({ step: 'introspection', body: introspection });

  // 7. Revocation of the current refresh token (the rotated one when the server rotates).
  const currentRefreshToken = refreshed.refresh_token ?? tokens.refresh_token;
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, clientAuth, currentRefreshToken, {
      ...httpOptions,
      additionalParameters: { token_type_hint: 'refresh_token' },
    }),
  );
  await writeLine({ step: 'revoked' });

  // 8. Done.
  await writeLine({ step: 'done' });
}

async function runClientCredentials(cfg) {
  const httpOptions = cfg.issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};

  const as = await discover(cfg.issuer, httpOptions);
  const client = { client_id: cfg.clientId };
  const clientAuth = oauth.PrivateKeyJwt(cfg.clientPrivateKey);
  const dpopKeys = await oauth.generateKeyPair('ES256');
  const DPoP = oauth.DPoP(client, dpopKeys);
  const dpopJkt = await DPoP.calculateThumbprint();

  const params = new URLSearchParams();
  if (cfg.scope) params.set('scope', cfg.scope);
  const tokens = await withDPoPNonceRetry(
    'client credentials grant',
    () => oauth.clientCredentialsGrantRequest(as, client, clientAuth, params, { ...httpOptions, DPoP }),
    (response) => oauth.processClientCredentialsResponse(as, client, response),
  );
  await writeLine({
    step: 'tokens',
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    dpop_jkt: dpopJkt,
  });

  const introspection = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, {
      ...httpOptions,
      additionalParameters: { token_type_hint: 'access_token' },
    }),
  );
  await writeLine({ step: 'introspection', body: introspection });
  await writeLine({ step: 'done' });
}

// ---------------------------------------------------------------------------------------------
// Entry point

const timer = setTimeout(() => {
  fail(`timed out after ${TIMEOUT_SECS}s`);
}, TIMEOUT_SECS * 1000);

process.on('unhandledRejection', (err) => {
  logErrorDetails(err);
  const { message, error, description } = describeError(err);
  fail(message, error, description);
});

const mode = process.argv[2];
try {
  if (mode !== 'code' && mode !== 'client_credentials') {
    throw new Error(`usage: node client.mjs <code|client_credentials> (got ${JSON.stringify(mode ?? null)})`);
  }
  const cfg = await loadConfig(mode);
  if (mode === 'code') {
    await runCode(cfg);
  } else {
    await runClientCredentials(cfg);
  }
  clearTimeout(timer);
  process.exit(0);
} catch (err) {
  logErrorDetails(err);
  const { message, error, description } = describeError(err);
  await fail(message, error, description);
}
