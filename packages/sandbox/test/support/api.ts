/** Socket-free API calls against a sandbox handle, with fidelity validation of every 200 response. */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { matchRoute } from "../../src/api/Router.js"
import { RETURN_ALLOW_LIST, validateReturn } from "../../src/api/Validator.js"
import type { SandboxHandle, SandboxToken } from "../../src/Sandbox.js"

export interface Reply {
  readonly status: number
  readonly reason: string
  readonly body: string
  readonly json: any
  /** Schema problems of a 200 response (empty = conforms). */
  readonly problems: ReadonlyArray<string>
}

export const encode = (params: Record<string, string | number | ReadonlyArray<string>>): string => {
  const out = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) out.append(k, String(x))
  return out.toString()
}

/** Calls the core as the token; validates 200 responses against the extract's return schema. */
export const call = (
  sb: SandboxHandle,
  token: SandboxToken | undefined,
  method: string,
  path: string,
  params: Record<string, string | number | ReadonlyArray<string>> = {}
): Effect.Effect<Reply> =>
  Effect.gen(function* () {
    const q = encode(params)
    const isQuery = method === "GET" || method === "DELETE"
    const res = yield* sb.handle({
      method,
      url: `/api2/json${path}${isQuery && q.length > 0 ? `?${q}` : ""}`,
      headers: {
        ...(token ? { authorization: `PVEAPIToken=${token.id}=${Redacted.value(token.secret)}` } : {}),
        ...(!isQuery ? { "content-type": "application/x-www-form-urlencoded" } : {})
      },
      ...(!isQuery && q.length > 0 ? { body: q } : {})
    })
    const json = res.body.length > 0 ? JSON.parse(res.body) : undefined
    let problems: Array<string> = []
    if (res.status === 200) {
      const route = matchRoute(method, path)
      if (!route) problems = [`no route for ${method} ${path}`]
      else problems = validateReturn(route.endpoint.returns, json.data, RETURN_ALLOW_LIST[route.endpoint.path] ?? [])
    }
    return { status: res.status, reason: res.reason, body: res.body, json, problems }
  })
