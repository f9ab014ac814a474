// The GraphQL API: AppSync on AWS, the local console server on the local target. Same requests, same answers.

/** The token was refused (expired, revoked or forged): the app returns to sign-in. */
export class SessionEnded extends Error {}

/** The API answered with errors: what it said, its error type and the request id to quote. */
export class ApiError extends Error {
  constructor(message, errorType, requestId) {
    super(message);
    this.errorType = errorType;
    this.requestId = requestId;
  }
}

export async function query(url, token, document, variables = {}) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: token },
      body: JSON.stringify({ query: document, variables }),
    });
  } catch (err) {
    throw new ApiError(`The console API could not be reached (${err.message}).`, "NetworkError", null);
  }
  const requestId = response.headers.get("x-amzn-requestid") ?? response.headers.get("x-request-id");
  if (response.status === 401) throw new SessionEnded("Your session has ended.");
  const body = await response.json().catch(() => null);
  if (body && Array.isArray(body.errors) && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message ?? "The API returned an error.", first.errorType ?? "Error", requestId);
  }
  if (!response.ok || !body || !body.data) {
    throw new ApiError(`The console API answered HTTP ${response.status}.`, "HttpError", requestId);
  }
  return body.data;
}
