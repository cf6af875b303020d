/**
 * The thin node:https adapter over `handleApi` (sandbox.md §4.1, §7). A raw TCP listener on
 * 127.0.0.1 hands each socket to TLS with the current certificate (or the impostor when a
 * `certificate` fault fires), then to an HTTP server; transport faults (latency, raw/enveloped
 * status, hang, drop at connect/tls/headers/body) are applied here, everything else in the core.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import * as net from "node:net"
import * as tls from "node:tls"
import { gzipSync } from "node:zlib"
import type { FaultHit } from "../faults/Faults.js"
import type { LabState } from "../state/LabState.js"
import { generateCertificate, type CertificateMode, type ServedCertificate } from "../tls/Certificates.js"
import { errorResponse, handleApi, type ApiResponse } from "./ApiCore.js"
import { HANDLERS } from "./Handlers.js"

/** Request metrics (real milliseconds). */
export interface ApiMetrics {
  readonly requests: number
  readonly byStatus: Readonly<Record<string, number>>
  /** Injected latency total and count of requests that got some. */
  readonly injectedLatencyMs: number
  readonly injectedRequests: number
  readonly faultsFired: Readonly<Record<string, number>>
  /** Histogram of total request latency: upper bounds in ms → count. */
  readonly latencyHistogram: Readonly<Record<string, number>>
  readonly p50: number
  readonly p99: number
}

/** The running HTTPS listener. */
export interface HttpsListener {
  readonly port: number
  readonly baseUrl: string
  /** The certificate served now. */
  readonly certificate: () => ServedCertificate
  /** The impostor served when a `certificate` fault fires (same subject, different key). */
  readonly impostor: () => ServedCertificate
  /** Replaces the served certificate by a fresh one (new key); returns it. */
  readonly rotateCertificate: (mode?: CertificateMode) => Effect.Effect<ServedCertificate>
  readonly metrics: () => ApiMetrics
}

const BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, Infinity]

const apiPath = (url: string): string => {
  const q = url.indexOf("?")
  const p = q < 0 ? url : url.slice(0, q)
  const m = /^\/api2\/[^/]+(\/.*)?$/.exec(p)
  return m ? (m[1] ?? "/") : p
}

/** Starts the HTTPS API on 127.0.0.1 (ephemeral port unless given); closed when the scope closes. */
export const startHttps = (
  lab: LabState,
  options: { readonly port?: number; readonly certificate: CertificateMode }
): Effect.Effect<HttpsListener, never, Scope.Scope> =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const [initial, impostorCert] = yield* Effect.all([generateCertificate({ node: lab.nodeName, mode: options.certificate }), generateCertificate({ node: lab.nodeName })], {
      concurrency: 2
    })
    let current = initial
    let context = tls.createSecureContext({ cert: initial.certPem, key: initial.keyPem, ...(initial.caPem !== undefined ? { ca: initial.caPem } : {}) })
    const impostorContext = tls.createSecureContext({ cert: impostorCert.certPem, key: impostorCert.keyPem })
    lab.apiCertificate = { pem: initial.certPem, sha256Colon: initial.sha256Colon }

    // metrics
    let requests = 0
    let injectedLatencyMs = 0
    let injectedRequests = 0
    const byStatus: Record<string, number> = {}
    const faultsFired: Record<string, number> = {}
    const samples: Array<number> = []
    const histogram: Record<string, number> = Object.fromEntries(BUCKETS.map((b) => [String(b), 0]))
    const observe = (status: number, ms: number) => {
      requests++
      byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1
      samples.push(ms)
      if (samples.length > 50000) samples.splice(0, 10000)
      const bucket = BUCKETS.find((b) => ms <= b) ?? Infinity
      histogram[String(bucket)] = (histogram[String(bucket)] ?? 0) + 1
    }
    const fired = (hit: FaultHit, detail: string) => {
      faultsFired[hit.rule.id] = (faultsFired[hit.rule.id] ?? 0) + 1
      lab.record({ kind: "fault", decision: hit.rule.id, detail: `${hit.effect._tag} ${detail}` })
    }

    const sockets = new Set<net.Socket>()
    const httpServer = http.createServer({ keepAliveTimeout: 5000 })
    httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      const started = Date.now()
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const method = (req.method ?? "GET").toUpperCase()
        const url = req.url ?? "/"
        const hits = lab.faults.match({ kind: "api", method, path: apiPath(url) })
        // a response made by a fault (not the core) is still an API call in the event log
        const faulted = (ruleId: string, response: ApiResponse): ApiResponse => {
          lab.record({ kind: "api", method, path: url.split("?")[0]!, status: response.status, decision: `fault:${ruleId}`, latencyMs: Date.now() - started })
          return response
        }
        let latency = 0
        for (const h of hits) if (h.effect._tag === "latency") latency += h.latencyMs ?? 0
        const delayMs = Math.round(latency)
        // injected latency is a plain timer (a simulated lab answers hundreds of requests at once). A read
        // (GET) is answered from the state at arrival and its answer sent when the latency is over, so the
        // simulator's own work overlaps the wait as a remote node's would; anything else runs after it.
        const early = method === "GET" && latency > 0 && hits.every((h) => h.effect._tag === "latency")
        const program = Effect.gen(function* () {
          for (const h of hits) {
            const e = h.effect
            if (e._tag === "latency") continue
            fired(h, `${method} ${url}`)
            if (e._tag === "hang") {
              // never answer; the socket stays open until the client gives up or the server closes
              yield* Effect.never
            }
            if (e._tag === "drop" && (e.phase === "headers" || e.phase === "connect" || e.phase === "tls")) {
              req.socket.destroy()
              return undefined
            }
            if (e._tag === "status") {
              const msg = e.message ?? http.STATUS_CODES[e.code] ?? "error"
              return faulted(
                h.rule.id,
                e.raw === true
                  ? ({ status: e.code, reason: http.STATUS_CODES[e.code] ?? "Error", headers: { "Content-Length": "0", Connection: "close" }, body: "" } satisfies ApiResponse)
                  : errorResponse(lab, e.code, msg.endsWith("\n") ? msg : `${msg}\n`)
              )
            }
            if (e._tag === "authFail") {
              return faulted(h.rule.id, {
                status: 401,
                reason: lab.flags.authFailureText === "detailed" ? "invalid token value!" : "Authentication failed!",
                headers: errorResponse(lab, 401, "x").headers,
                body: ""
              } satisfies ApiResponse)
            }
          }
          const dropBody = hits.find((h) => h.effect._tag === "drop" && h.effect.phase === "body")
          const response = yield* handleApi(
            lab,
            {
              method,
              url,
              headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(", ") : v])),
              body: Buffer.concat(chunks).toString("utf8")
            },
            // a GET answered at arrival is logged then, with the latency its answer will still wait
            { handlers: HANDLERS, startedAtMs: early ? started - delayMs : started }
          )
          if (dropBody && dropBody.effect._tag === "drop") {
            const after = dropBody.effect.afterBytes ?? Math.floor(response.body.length / 2)
            res.writeHead(response.status, response.reason, { ...response.headers, "Content-Length": String(Buffer.byteLength(response.body)) })
            res.write(response.body.slice(0, after))
            yield* Effect.sleep("5 millis")
            req.socket.destroy()
            return undefined
          }
          return response
        })
        let fiber: Fiber.RuntimeFiber<unknown> | undefined
        let timer: ReturnType<typeof setTimeout> | undefined
        const send = (response: ApiResponse | undefined) => {
          if (!early) return write(response)
          const left = started + delayMs - Date.now()
          if (left <= 0) return write(response)
          timer = setTimeout(() => write(response), left)
        }
        const write = (response: ApiResponse | undefined) => {
          if (!response) return
          // a string body lets node:http send status line, headers and body in one write
          let body: Buffer | string = response.body
          const headers: Record<string, string> = { ...response.headers }
          if (body.length > 1024 && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) {
            body = gzipSync(body)
            headers["Content-Encoding"] = "gzip"
          }
          headers["Content-Length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.length)
          if (res.destroyed) return
          res.writeHead(response.status, response.reason, headers)
          res.end(body)
          observe(response.status, Date.now() - started)
        }
        const answer = () => {
          fiber = Runtime.runFork(runtime)(program.pipe(Effect.tap((response) => Effect.sync(() => send(response)))))
        }
        if (latency > 0) {
          injectedLatencyMs += latency
          injectedRequests++
        }
        if (latency > 0 && !early) timer = setTimeout(answer, delayMs)
        else answer()
        // a client that goes away (or a hang the server is closed under) ends the request's timer or fiber
        res.on("close", () => {
          if (res.writableEnded) return
          if (timer !== undefined) clearTimeout(timer)
          fiber?.unsafeInterruptAsFork(fiber.id())
        })
      })
    })

    // noDelay as pveproxy and Node's own http server do: small responses are not held back by Nagle
    const server = net.createServer({ noDelay: true }, (raw) => {
      sockets.add(raw)
      raw.on("close", () => sockets.delete(raw))
      raw.on("error", () => raw.destroy())
      const hits = lab.faults.match({ kind: "tls" })
      const apiHits = lab.faults.match({ kind: "api", method: "CONNECT", path: "*" })
      let impostor = false
      for (const h of [...hits, ...apiHits]) {
        const e = h.effect
        if (e._tag === "certificate") {
          fired(h, "tls")
          impostor = true
        } else if (e._tag === "drop" && e.phase === "connect") {
          fired(h, "connect")
          raw.destroy()
          return
        } else if (e._tag === "drop" && e.phase === "tls") {
          fired(h, "tls")
          raw.once("data", () => raw.destroy())
          return
        } else if (e._tag === "hang") {
          fired(h, "connect")
          return
        }
      }
      const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: impostor ? impostorContext : context })
      socket.on("error", () => socket.destroy())
      httpServer.emit("connection", socket)
    })

    const port = yield* Effect.async<number>((resume) => {
      server.listen(options.port ?? 0, "127.0.0.1", () => {
        const addr = server.address()
        resume(Effect.succeed(typeof addr === "object" && addr ? addr.port : 0))
      })
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        httpServer.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )

    const percentile = (p: number) => {
      if (samples.length === 0) return 0
      const sorted = samples.slice().sort((a, b) => a - b)
      return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
    }
    return {
      port,
      baseUrl: `https://127.0.0.1:${port}/api2/json`,
      certificate: () => current,
      impostor: () => impostorCert,
      rotateCertificate: (mode?: CertificateMode) =>
        Effect.map(generateCertificate({ node: lab.nodeName, mode: mode ?? options.certificate }), (next) => {
          current = next
          context = tls.createSecureContext({ cert: next.certPem, key: next.keyPem, ...(next.caPem !== undefined ? { ca: next.caPem } : {}) })
          lab.apiCertificate = { pem: next.certPem, sha256Colon: next.sha256Colon }
          lab.record({ kind: "state", detail: `certificate rotated ${next.sha256Colon}` })
          return next
        }),
      metrics: () => ({
        requests,
        byStatus: { ...byStatus },
        injectedLatencyMs,
        injectedRequests,
        faultsFired: { ...faultsFired },
        latencyHistogram: { ...histogram },
        p50: percentile(50),
        p99: percentile(99)
      })
    }
  })
