// Sign-in: the authorization code flow with PKCE (S256) against Cognito's hosted UI or an OIDC provider.
// Tokens live in sessionStorage (this tab, this session) and never in the address bar: the code the
// provider sends back is removed from the URL before anything else runs.

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

/** Go to the provider's sign-in page; `route` is where to come back to. */
export async function signIn(config, route) {
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

export class SignInError extends Error {}

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
  const response = await fetch(config.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.clientId,
      code: params.get("code"),
      redirect_uri: config.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
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

/** Forget the tokens here, then end the provider's session too when it has a logout endpoint. */
export function signOut(config) {
  forget();
  if (!config.logoutUrl) return false;
  const url = new URL(config.logoutUrl, location.href);
  url.search = new URLSearchParams({ client_id: config.clientId, logout_uri: config.redirectUri }).toString();
  location.assign(url.toString());
  return true;
}
