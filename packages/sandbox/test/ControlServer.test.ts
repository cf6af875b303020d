/** `--control-port`: the control surface over loopback HTTP behind a bearer secret. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as http from "node:http"
import { startControlServer } from "../src/api/ControlServer.js"
import * as Sandbox from "../src/Sandbox.js"
import { request } from "./support/https.js"

const ctl = (url: string, secret: string | undefined, method: string, path: string, body?: unknown) =>
  Effect.promise(
    () =>
      new Promise<{ status: number; json: unknown }>((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body)
        const req = http.request(`${url}${path}`, { method, headers: { ...(secret ? { Authorization: `Bearer ${secret}` } : {}), ...(text ? { "Content-Type": "application/json" } : {}) } }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") }))
        })
        req.on("error", reject)
        if (text) req.write(text)
        req.end()
      })
  )

describe("control server", () => {
  it.scopedLive("adds and removes faults, advances time, reports events and metrics, rotates the certificate", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, ssh: false, clock: "manual" })
      const c = yield* startControlServer(sb)
      expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect((yield* ctl(c.url, undefined, "GET", "/faults")).status).toBe(401)
      expect((yield* ctl(c.url, "wrong", "GET", "/faults")).status).toBe(401)
      const bad = yield* ctl(c.url, c.secret, "POST", "/faults", { id: "x", target: { kind: "moon" }, effect: { _tag: "hang" } })
      expect(bad).toEqual({ status: 400, json: { error: "rule.target.kind must be one of api, ssh, task, store, agent, tls, sshHandshake" } })
      const rule = { id: "e503", target: { kind: "api", path: "/version" }, when: { _tag: "once" }, effect: { _tag: "status", code: 503, raw: true } }
      expect((yield* ctl(c.url, c.secret, "POST", "/faults", rule)).status).toBe(201)
      expect((yield* ctl(c.url, c.secret, "GET", "/faults")).json).toEqual([rule])
      const token = { id: sb.token.id, secret: Redacted.value(sb.token.secret) }
      expect((yield* Effect.promise(() => request(sb.api.baseUrl, "GET", "/version", { token }))).status).toBe(503)
      expect((yield* Effect.promise(() => request(sb.api.baseUrl, "GET", "/version", { token }))).status).toBe(200)
      expect((yield* ctl(c.url, c.secret, "DELETE", "/faults/e503")).status).toBe(200)
      expect((yield* ctl(c.url, c.secret, "DELETE", "/faults/e503")).status).toBe(404)
      expect((yield* ctl(c.url, c.secret, "POST", "/faults", { preset: "wan" })).status).toBe(201)
      expect((yield* ctl(c.url, c.secret, "DELETE", "/faults")).json).toEqual({ cleared: true })
      const before = sb.lab.now()
      expect((yield* ctl(c.url, c.secret, "POST", "/advance", { seconds: 30 })).json).toEqual({ now: before + 30 })
      expect((yield* ctl(c.url, c.secret, "POST", "/advance", { seconds: "x" })).status).toBe(400)
      const events = (yield* ctl(c.url, c.secret, "GET", "/events?since=0")).json as Array<{ kind: string; status?: number }>
      expect(events.filter((e) => e.kind === "api").map((e) => e.status)).toEqual([503, 200])
      expect(((yield* ctl(c.url, c.secret, "GET", "/metrics")).json as { api: { requests: number } }).api.requests).toBe(2)
      const rotated = (yield* ctl(c.url, c.secret, "POST", "/certificate/rotate", {})).json as { pin: string }
      expect(rotated.pin).toBe(sb.api.tls.pin)
      expect(((yield* ctl(c.url, c.secret, "GET", "/state")).json as { seed: number }).seed).toBe(1)
      expect((yield* ctl(c.url, c.secret, "POST", "/flags", { authFailureText: "generic" })).status).toBe(200)
      expect(sb.lab.flags.authFailureText).toBe("generic")
    })
  )
})
