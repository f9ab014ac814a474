// Sign-in: the authorization code flow with PKCE (S256) against Cognito's hosted UI or an OIDC provider.
// Tokens live in sessionStorage (this tab, this session) and never in the address bar: the code the
// provider sends back is removed from the URL before anything else runs. An OIDC provider is named by its
// issuer alone; its endpoints come from the issuer's discovery document.

const SESSION = "pipectl.session";
const PENDING = "pipectl.signin";

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 48) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

/** The claims of a JWT (read for display and expiry only: the API verifies the signature). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return {};
  }
}

export class SignInError extends Error {}

/**
 * The provider's endpoints: given (Cognito, the local console), or read once from the issuer's discovery
 * document (`{issuer}/.well-known/openid-configuration`), which must name the same issuer.
 */
export async function endpoints(config) {
  if (!config.issuer || config.authorizeUrl) return config;
  const issuer = config.issuer.replace(/\/$/, "");
  let found;
  try {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`, { credentials: "omit" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    found = await response.json();
  } catch (err) {
    throw new SignInError(`The sign-in provider ${issuer} could not be reached (${err.message}). Try again in a moment.`);
  }
  if (String(found.issuer ?? "").replace(/\/$/, "") !== issuer || !found.authorization_endpoint || !found.token_endpoint) {
    throw new SignInError(`The sign-in provider's discovery document does not describe the issuer ${issuer}.`);
  }
  return Object.assign(config, {
    authorizeUrl: found.authorization_endpoint,
    tokenUrl: found.token_endpoint,
    logoutUrl: found.end_session_endpoint ?? null,
    logoutStyle: "oidc",
  });
}

/** Go to the provider's sign-in page; `route` is where to come back to. */
export async function signIn(config, route) {
  await endpoints(config);
  const verifier = randomText();
  const state = randomText(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, route }));
  const url = new URL(config.authorizeUrl, location.href);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: (config.scopes ?? ["openid"]).join(" "),
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

/**
 * When the provider has just sent the browser back: take the code out of the address bar, exchange it
 * (with the PKCE verifier) for tokens, and return the route to show. Null when this is no redirect.
 */
export async function completeSignIn(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + location.hash);
  if (params.has("error")) throw new SignInError(`Sign-in was refused: ${params.get("error_description") ?? params.get("error")}`);
  if (!pending || pending.state !== params.get("state")) throw new SignInError("This sign-in answer does not belong to this tab; sign in again.");
  await endpoints(config);
  let response;
  try {
    response = await fetch(config.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: config.clientId,
        code: params.get("code"),
        redirect_uri: config.redirectUri,
        code_verifier: pending.verifier,
      }),
      credentials: "omit",
    });
  } catch (err) {
    throw new SignInError(`The sign-in provider could not be reached (${err.message}); sign in again.`);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new SignInError(`Sign-in failed: ${body.error_description ?? body.error ?? response.status}`);
  const exp = claims(body.id_token).exp;
  const expiresAt = exp ? exp * 1000 : Date.now() + (body.expires_in ?? 3600) * 1000;
  sessionStorage.setItem(SESSION, JSON.stringify({ idToken: body.id_token, accessToken: body.access_token, expiresAt }));
  return pending.route || "/pipelines";
}

/** The signed-in session, or null when there is none or it has expired. */
export function session() {
  const saved = JSON.parse(sessionStorage.getItem(SESSION) ?? "null");
  if (!saved || !saved.idToken || saved.expiresAt <= Date.now()) return null;
  const who = claims(saved.idToken);
  return { ...saved, user: who.email ?? who["cognito:username"] ?? who.sub ?? "signed in" };
}

export function forget() {
  sessionStorage.removeItem(SESSION);
}

/**
 * Forget the tokens here, then end the provider's session too when it has a logout endpoint (Cognito's
 * `/logout`, or OIDC's end_session_endpoint: no id_token_hint, so no token goes into the address bar).
 * False when the browser stays here.
 */
export async function signOut(config) {
  forget();
  try {
    await endpoints(config);
  } catch {
    return false; // the provider is unreachable: signed out here, its own session ends when it expires
  }
  if (!config.logoutUrl) return false;
  const url = new URL(config.logoutUrl, location.href);
  const back = config.logoutStyle === "oidc" ? "post_logout_redirect_uri" : "logout_uri";
  url.search = new URLSearchParams({ client_id: config.clientId, [back]: config.redirectUri }).toString();
  location.assign(url.toString());
  return true;
}
