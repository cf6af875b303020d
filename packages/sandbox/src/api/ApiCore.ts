/**
 * The socket-free core of the sandbox's PVE API (sandbox.md §4.2): `handleApi(lab, request)` runs
 * the pipeline in Proxmox's order (format → authentication → body on GET → route → allowtoken →
 * schema permission over raw path values → parameter validation → handler) and returns the exact
 * status line, headers and body Proxmox would send. The node:https adapter (`HttpsServer.ts`) only
 * moves bytes and applies transport faults.
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { LabState } from "../state/LabState.js"
import { matchRoute, type Endpoint } from "./Router.js"
import { RETURN_ALLOW_LIST, validateParams, validateReturn, type RawParams, type TypedParams } from "./Validator.js"

/** A request as the core sees it. `url` is path + query (`/api2/json/nodes?x=1`). */
export interface ApiRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body?: string
}

/** A response: status, reason phrase, headers and body text. */
export interface ApiResponse {
  readonly status: number
  readonly reason: string
  readonly headers: Record<string, string>
  readonly body: string
}

/** A handler's refusal: status (500 unless said otherwise), message and optional per-parameter errors. */
export class ApiFailure extends Data.TaggedError("ApiFailure")<{
  readonly status: number
  readonly message: string
  readonly errors?: Readonly<Record<string, string>>
}> {}

/** A successful result whose envelope carries `total` (tasks index, task log). */
export class WithTotal {
  constructor(
    readonly data: unknown,
    readonly total: number
  ) {}
}

/** The authenticated caller. */
export interface Caller {
  /** `user@realm` or `user@realm!token`. */
  readonly authid: string
  readonly userid: string
  readonly tokenid?: string
  /** root@pam itself (not its tokens): skips permission checks. */
  readonly isRoot: boolean
}

/** What a handler gets. */
export interface HandlerContext {
  readonly lab: LabState
  readonly endpoint: Endpoint
  readonly params: TypedParams
  readonly pathParams: Readonly<Record<string, string>>
  readonly caller: Caller
  /** True when the caller holds the privileges on the path (all, or any with `any`). */
  readonly can: (path: string, privs: ReadonlyArray<string>, any?: boolean) => boolean
}

/** A route handler. */
export type Handler = (ctx: HandlerContext) => Effect.Effect<unknown, ApiFailure>

/** Fails with a 500 whose message gets PVE's trailing newline. */
export const fail500 = (message: string): Effect.Effect<never, ApiFailure> =>
  Effect.fail(new ApiFailure({ status: 500, message: message.endsWith("\n") ? message : `${message}\n` }))

/** Fails with 403 `Permission check failed (<path>, <privs>)`. */
export const fail403 = (path: string, privs: string): Effect.Effect<never, ApiFailure> =>
  Effect.fail(new ApiFailure({ status: 403, message: `Permission check failed (${path}, ${privs})\n` }))

/** Fails with 400 `Parameter verification failed.` and the errors map. */
export const fail400 = (errors: Record<string, string>): Effect.Effect<never, ApiFailure> =>
  Effect.fail(new ApiFailure({ status: 400, message: "Parameter verification failed.\n", errors }))

const KNOWN_FORMATS = new Set(["json", "extjs", "html", "spiceconfig"])

/** The last HTTP date formatted, per whole second of lab time (hundreds of answers share one). */
let httpDate = { second: Number.NaN, text: "" }

const baseHeaders = (lab: LabState, status: number): Record<string, string> => {
  const second = Math.floor(lab.now())
  if (second !== httpDate.second) httpDate = { second, text: new Date(second * 1000).toUTCString() }
  const now = httpDate.text
  return {
    "Cache-Control": "max-age=0",
    Connection: status >= 400 ? "close" : "Keep-Alive",
    Date: now,
    Pragma: "no-cache",
    Server: "pve-api-daemon/3.0",
    "Content-Type": "application/json;charset=UTF-8",
    Expires: now
  }
}

/** First line of a message as the reason phrase; a CR in it turns the answer into 400 Bad Request. */
const reasonOf = (message: string): string => message.replace(/\n[\s\S]*$/, "").replace(/\n$/, "")

const respond = (lab: LabState, status: number, reason: string, body: string): ApiResponse => {
  if (reason.includes("\r")) return { status: 400, reason: "Bad Request", headers: baseHeaders(lab, 400), body: "" }
  return { status, reason, headers: baseHeaders(lab, status), body }
}

/** An error response in the profile's body style. */
export const errorResponse = (lab: LabState, status: number, message: string, errors?: Readonly<Record<string, string>>): ApiResponse => {
  const body: Record<string, unknown> = { data: null }
  if (errors !== undefined) body["errors"] = errors
  if (lab.flags.errorBody === "pve9") body["message"] = message
  return respond(lab, status, reasonOf(message), JSON.stringify(body))
}

const ok = (lab: LabState, result: unknown): ApiResponse => {
  const body = result instanceof WithTotal ? { data: result.data, ...(result.total !== 0 ? { total: result.total } : {}) } : { data: result ?? null }
  return respond(lab, 200, "OK", JSON.stringify(body))
}

const parseQuery = (query: string): Record<string, string | Array<string>> => {
  const out: Record<string, string | Array<string>> = {}
  if (query.length === 0) return out
  for (const part of query.split("&")) {
    if (part.length === 0) continue
    const i = part.indexOf("=")
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, " "))
      } catch {
        return s
      }
    }
    const k = dec(i < 0 ? part : part.slice(0, i))
    const v = i < 0 ? "" : dec(part.slice(i + 1))
    const prev = out[k]
    if (prev === undefined) out[k] = v
    else if (Array.isArray(prev)) prev.push(v)
    else out[k] = [prev, v]
  }
  return out
}

const parseBody = (body: string, contentType: string | undefined): Record<string, string | Array<string>> => {
  if (body.length === 0) return {}
  if ((contentType ?? "").includes("application/json")) {
    try {
      const json = JSON.parse(body) as unknown
      if (json && typeof json === "object" && !Array.isArray(json)) {
        const out: Record<string, string | Array<string>> = {}
        for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
          if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === "boolean" ? (x ? "1" : "0") : String(x)))
          else if (typeof v === "boolean") out[k] = v ? "1" : "0"
          else if (v !== null && v !== undefined) out[k] = typeof v === "object" ? JSON.stringify(v) : String(v)
        }
        return out
      }
    } catch {
      return {}
    }
    return {}
  }
  return parseQuery(body)
}

const TOKEN_RE = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/

type AuthResult = { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly reason: string }

/** Verifies the `Authorization: PVEAPIToken=…` header with Proxmox's checks in order (§4.3). */
export const authenticate = (lab: LabState, headers: Readonly<Record<string, string | undefined>>): AuthResult => {
  const header = headers["authorization"]
  const m = header !== undefined ? TOKEN_RE.exec(header) : null
  if (!m) return { ok: false, reason: "No ticket" }
  const detailed = lab.flags.authFailureText === "detailed"
  const deny = (reason: string): AuthResult => ({ ok: false, reason: detailed ? reason : "Authentication failed!" })
  const value = m[1]!.trim()
  const eq = value.lastIndexOf("=")
  if (eq < 0) return deny("no tokenid specified")
  const tokenFull = value.slice(0, eq)
  const secret = value.slice(eq + 1)
  const split = /^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$/.exec(tokenFull)
  if (!split) return deny(`'${tokenFull}' is not a valid token ID - not able to split into user and token parts`)
  const userid = split[1]!
  const tokenid = split[2]!
  const user = lab.users.get(userid)
  if (!user) return deny(`no such user ('${userid}')`)
  if (user.enable === 0) return deny(`user '${userid}' is disabled`)
  if (user.expire > 0 && user.expire < lab.now()) return deny("account expired")
  const token = lab.tokens.get(`${userid}!${tokenid}`)
  if (!token) return deny(`no such token '${tokenid}' for user '${userid}'`)
  if (token.expire > 0 && token.expire < lab.now()) return deny(`token '${tokenid}' access expired`)
  if (token.secret !== secret) return deny("invalid token value!")
  return { ok: true, caller: { authid: `${userid}!${tokenid}`, userid, tokenid, isRoot: false } }
}

/** Evaluates a schema permission description for the caller; undefined = allowed, else the 403 text. */
export const checkPermission = (
  lab: LabState,
  caller: Caller,
  permissions: Endpoint["permissions"],
  values: Readonly<Record<string, string>>
): { readonly path: string; readonly privs: string } | undefined => {
  if (caller.isRoot || !permissions) return undefined
  if (permissions.user === "all" || permissions.user === "world") return undefined
  const check = permissions.check
  if (!check || check[0] !== "perm") return undefined
  const template = String(check[1])
  const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? "")
  // 8.x nodes guard the guest agent with VM.Monitor instead of the 9.x VM.GuestAgent.* privileges
  const agent8 = lab.flags.agentPrivileges === "8.x" && template === "/vms/{vmid}" && (check[2] as ReadonlyArray<string>).some((p) => p.startsWith("VM.GuestAgent."))
  const privs = agent8 ? ["VM.Monitor"] : ((check[2] as ReadonlyArray<string>) ?? [])
  const any = !agent8 && check[3] === "any"
  const have = lab.permissions(caller.authid, path)
  if (any) return privs.some((p) => have.has(p)) ? undefined : { path, privs: privs.join("|") }
  const missing = privs.find((p) => !have.has(p))
  return missing === undefined ? undefined : { path, privs: missing }
}

/** Options of `handleApi`. */
export interface HandleOptions {
  /** Handler table keyed by `METHOD /template/path`. */
  readonly handlers: Readonly<Record<string, Handler>>
  /** Real ms the request already spent (injected latency), for the event log. */
  readonly startedAtMs?: number
  /** Skip authentication and act as this caller (pvesh on the host runs as `root@pam`). */
  readonly as?: Caller
}

/** root@pam as pvesh uses it: no permission checks. */
export const ROOT_CALLER: Caller = { authid: "root@pam", userid: "root@pam", isRoot: true }

/** Runs one request through the PVE pipeline. Never fails; every outcome is a response. */
export const handleApi = (lab: LabState, request: ApiRequest, options: HandleOptions): Effect.Effect<ApiResponse> =>
  Effect.gen(function* () {
    const started = options.startedAtMs ?? Date.now()
    const qIndex = request.url.indexOf("?")
    const rawPath = qIndex < 0 ? request.url : request.url.slice(0, qIndex)
    const query = qIndex < 0 ? "" : request.url.slice(qIndex + 1)
    const method = request.method.toUpperCase()
    let principal: string | undefined
    const finish = (res: ApiResponse, decision: string): ApiResponse => {
      lab.record({
        kind: "api",
        method,
        path: rawPath,
        ...(principal !== undefined ? { principal } : {}),
        status: res.status,
        decision,
        latencyMs: Date.now() - started
      })
      return res
    }
    // 1. format
    const fm = /^\/api2\/([^/]+)(\/.*)?$/.exec(rawPath)
    if (!fm || !KNOWN_FORMATS.has(fm[1]!)) return finish(respond(lab, 501, "no such uri", ""), "no-such-uri")
    const path = fm[2] ?? "/"
    // 2. authentication
    const exempt = /^\/access\/(domains|ticket|vncticket)$/.test(path) || /^\/access\/openid\//.test(path)
    let caller: Caller | undefined
    if (options.as !== undefined) {
      caller = options.as
      principal = caller.authid
    } else if (!exempt) {
      const auth = authenticate(lab, request.headers)
      if (!auth.ok) {
        principal = undefined
        if (lab.flags.authFailureDelay > 0) yield* Effect.sleep(Duration.millis(lab.flags.authFailureDelay))
        return finish(respond(lab, 401, auth.reason, ""), "unauthenticated")
      }
      caller = auth.caller
      principal = caller.authid
    }
    // 3. body on GET/DELETE
    const body = request.body ?? ""
    if ((method === "GET" || method === "DELETE") && body.length > 0) {
      return finish(errorResponse(lab, 501, `Unexpected content for method '${method}'`), "unexpected-content")
    }
    // 4. route
    const route = matchRoute(method, path.replace(/\/+$/, "") || "/")
    const handler = route ? options.handlers[`${method} ${route.endpoint.path}`] : undefined
    if (!route || !handler || !caller) {
      return finish(errorResponse(lab, 501, `Method '${method} ${path}' not implemented`), "not-implemented")
    }
    // 5. allowtoken
    if (route.endpoint.allowtoken === 0 && caller.tokenid !== undefined) {
      return finish(
        errorResponse(lab, 403, `Permission check failed (URI '${path}' not available with API token, need proper ticket.)\n`),
        "token-not-allowed"
      )
    }
    // 6. schema permission over raw path values
    const denied = checkPermission(lab, caller, route.endpoint.permissions, route.pathParams)
    if (denied) return finish(errorResponse(lab, 403, `Permission check failed (${denied.path}, ${denied.privs})\n`), "forbidden")
    // 7. parameters
    const raw: Record<string, string | ReadonlyArray<string>> = {
      ...(method === "GET" || method === "DELETE" ? parseQuery(query) : { ...parseQuery(query), ...parseBody(body, request.headers["content-type"]) }),
      ...route.pathParams
    }
    const validated = validateParams(route.endpoint.parameters, raw as RawParams, { isRoot: caller.isRoot })
    if (!validated.ok) return finish(errorResponse(lab, 400, "Parameter verification failed.\n", validated.errors), "bad-parameter")
    // node name
    const node = route.pathParams["node"]
    if (node !== undefined && node !== lab.nodeName) {
      return finish(errorResponse(lab, 500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known\n`), "unknown-node")
    }
    // 8. handler
    const ctx: HandlerContext = {
      lab,
      endpoint: route.endpoint,
      params: validated.params,
      pathParams: route.pathParams,
      caller,
      can: (p, privs, any = false) => {
        if (caller.isRoot) return true
        const have = lab.permissions(caller.authid, p)
        return any ? privs.some((x) => have.has(x)) : privs.every((x) => have.has(x))
      }
    }
    lab.settle()
    const result = yield* handler(ctx).pipe(
      Effect.map((data) => ({ _tag: "ok" as const, data })),
      Effect.catchAll((e) => Effect.succeed({ _tag: "err" as const, e })),
      Effect.catchAllDefect((d) =>
        Effect.succeed({ _tag: "err" as const, e: new ApiFailure({ status: 500, message: `${d instanceof Error ? d.message : String(d)}\n` }) })
      )
    )
    if (result._tag === "ok") {
      if (lab.flags.validateResponses) {
        const data = result.data instanceof WithTotal ? result.data.data : (result.data ?? null)
        const problems = validateReturn(route.endpoint.returns, data, RETURN_ALLOW_LIST[route.endpoint.path] ?? [])
        if (problems.length > 0) {
          lab.record({ kind: "state", decision: "schema-violation", detail: `${method} ${route.endpoint.path}: ${problems.join("; ")}` })
          return finish(errorResponse(lab, 500, `sandbox response violates the PVE schema: ${problems[0]}\n`), "schema-violation")
        }
      }
      return finish(ok(lab, result.data), "allow")
    }
    return finish(errorResponse(lab, result.e.status, result.e.message, result.e.errors), result.e.status === 403 ? "forbidden" : "error")
  })
