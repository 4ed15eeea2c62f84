// The REST API, seen from the page. Same-origin requests only; the access token travels as an HttpOnly
// SameSite=Strict cookie that the page itself can never read.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** True when the server refused us for lack of the access token (the page was opened without it). */
  get unauthorized() {
    return this.status === 401 || this.status === 403;
  }
}

const BASE = "api/telemetry/";

/** Call an endpoint; JSON in, JSON out. Throws ApiError with the server's own explanation. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return readResponse(fetch(BASE + path, init));
}

/** The JSON of a fetch() under way, or an ApiError that says what went wrong. */
export async function readResponse(pending) {
  let res;
  try {
    res = await pending;
  } catch {
    throw new ApiError(0, "The telemetry service is not reachable. Is it still running?");
  }
  if (!res.ok) {
    let detail = "";
    try {
      const payload = await res.json();
      detail = typeof payload.detail === "string" ? payload.detail : payload.message || "";
    } catch {
      // not JSON: the status line says enough
    }
    throw new ApiError(res.status, detail || `${res.status} ${res.statusText}`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** The export URL, optionally limited to a time range (nanoseconds). */
export function exportUrl(startNs, endNs) {
  const q = new URLSearchParams();
  if (startNs) q.set("start_ns", String(startNs));
  if (endNs) q.set("end_ns", String(endNs));
  const qs = q.toString();
  return `${BASE}export${qs ? `?${qs}` : ""}`;
}
