/**
 * `--control-port` (sandbox.md §7): the SandboxControl surface over plain HTTP on a second loopback
 * port, behind a bearer secret, so a sandbox started from the CLI (or `serve --sandbox`) can be driven
 * from outside: faults, flags, virtual time, events, metrics, state export, certificate rotation.
 *
 * Routes (JSON bodies): `GET /faults`, `POST /faults` (a rule, or `{"preset":"flaky"}`), `DELETE
 * /faults/<id>`, `DELETE /faults`, `POST /advance {"seconds":n}`, `POST /flags {…}`, `GET
 * /events?since=<seq>`, `GET /metrics`, `GET /state`, `POST /certificate/rotate {"mode"?}`, `POST
 * /provision {"tier"}`. Errors are `{"error": "<what was wrong and what to send>"}`.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { randomBytes, timingSafeEqual } from "node:crypto"
import * as http from "node:http"
import { presets, type FaultRule } from "../faults/Faults.js"
import type { SandboxHandle, SandboxTier } from "../Sandbox.js"

/** The running control listener. */
export interface ControlServer {
  readonly url: string
  readonly port: number
  /** Send as `Authorization: Bearer <secret>`. */
  readonly secret: string
}

const TARGETS = ["api", "ssh", "task", "store", "agent", "tls", "sshHandshake"]
const WHENS = ["always", "once", "nth", "every", "probability", "window", "afterCalls"]
const EFFECTS = ["latency", "status", "hang", "drop", "taskFail", "taskStall", "taskWarnings", "storageFull", "agentDown", "exit", "authFail", "certificate", "hostKey", "sessionLimit"]

/** Checks the shape of a fault rule; returns the problem or the rule. */
export const parseRule = (value: unknown): FaultRule | string => {
  if (!value || typeof value !== "object") return "expected a JSON object {id, target, when, effect}"
  const v = value as Record<string, unknown>
  if (typeof v["id"] !== "string" || v["id"].length === 0) return "rule.id must be a non-empty string"
  const target = v["target"] as Record<string, unknown> | undefined
  if (!target || !TARGETS.includes(String(target["kind"]))) return `rule.target.kind must be one of ${TARGETS.join(", ")}`
  const when = (v["when"] ?? { _tag: "always" }) as Record<string, unknown>
  if (!WHENS.includes(String(when["_tag"]))) return `rule.when._tag must be one of ${WHENS.join(", ")}`
  const effect = v["effect"] as Record<string, unknown> | undefined
  if (!effect || !EFFECTS.includes(String(effect["_tag"]))) return `rule.effect._tag must be one of ${EFFECTS.join(", ")}`
  if (effect["_tag"] === "latency" && (typeof effect["latency"] !== "object" || effect["latency"] === null)) {
    return `rule.effect.latency must be {"fixed":ms}, {"uniform":[min,max]} or {"logNormal":{"p50":ms,"p99":ms}}`
  }
  if (effect["_tag"] === "status" && typeof effect["code"] !== "number") return "rule.effect.code must be a number (e.g. 500, 502)"
  return { id: v["id"], target, when, effect } as unknown as FaultRule
}

const readBody = (req: http.IncomingMessage): Promise<unknown> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      if (text.length === 0) return resolve({})
      try {
        resolve(JSON.parse(text))
      } catch {
        resolve(undefined)
      }
    })
  })

/** Starts the control listener on 127.0.0.1 (port 0 = ephemeral); closed with the scope. */
export const startControlServer = (sb: SandboxHandle, options: { readonly port?: number } = {}): Effect.Effect<ControlServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const secret = randomBytes(24).toString("base64url")
    const expected = Buffer.from(`Bearer ${secret}`)
    const server = http.createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body)
        res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) })
        res.end(text)
      }
      const given = Buffer.from(String(req.headers["authorization"] ?? ""))
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return send(401, { error: "send Authorization: Bearer <secret> as printed at startup" })
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const route = `${req.method} ${url.pathname}`
      void readBody(req).then(async (body) => {
        if (body === undefined) return send(400, { error: "body is not valid JSON" })
        const b = body as Record<string, unknown>
        const c = sb.control
        if (route === "GET /faults") return send(200, c.faults())
        if (route === "DELETE /faults") {
          c.clearFaults()
          return send(200, { cleared: true })
        }
        if (route === "POST /faults") {
          if (typeof b["preset"] === "string") {
            const preset = presets[b["preset"] as keyof typeof presets]
            if (!preset) return send(400, { error: `unknown preset '${b["preset"]}'; use ${Object.keys(presets).join(", ")}` })
            for (const r of preset) c.addFault(r)
            return send(201, preset)
          }
          const rule = parseRule(body)
          if (typeof rule === "string") return send(400, { error: rule })
          c.addFault(rule)
          return send(201, rule)
        }
        if (req.method === "DELETE" && url.pathname.startsWith("/faults/")) {
          const id = decodeURIComponent(url.pathname.slice("/faults/".length))
          return c.removeFault(id) ? send(200, { removed: id }) : send(404, { error: `no fault rule '${id}'` })
        }
        if (route === "POST /advance") {
          const seconds = b["seconds"]
          if (typeof seconds !== "number" || !(seconds >= 0)) return send(400, { error: "send {\"seconds\": <non-negative number>}" })
          c.advance(seconds)
          return send(200, { now: sb.lab.now() })
        }
        if (route === "POST /flags") {
          c.setFlags(b)
          return send(200, sb.lab.flags)
        }
        if (route === "GET /events") {
          const since = Number(url.searchParams.get("since") ?? "0")
          return send(200, c.events().filter((e) => e.seq > since))
        }
        if (route === "GET /metrics") return send(200, c.metrics())
        if (route === "GET /state") {
          res.writeHead(200, { "Content-Type": "application/json" })
          return res.end(c.exportState())
        }
        if (route === "POST /certificate/rotate") {
          const mode = b["mode"] === "ca" ? "ca" : "self-signed"
          const next = await Effect.runPromise(c.rotateCertificate(mode))
          return send(200, { sha256Colon: next.sha256Colon, pin: next.pin })
        }
        if (route === "POST /provision") {
          const tier = b["tier"]
          if (tier !== "observe" && tier !== "operate" && tier !== "companion") return send(400, { error: "send {\"tier\": \"observe\"|\"operate\"|\"companion\"}" })
          const t = c.provision(tier as SandboxTier)
          return send(200, { id: t.id })
        }
        return send(404, { error: `no route ${route}` })
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(options.port ?? 0, "127.0.0.1", () => {
          const a = server.address()
          resume(Effect.succeed(typeof a === "object" && a ? a.port : 0))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    return { url: `http://127.0.0.1:${port}`, port, secret }
  })
