/**
 * The PVE API pipeline over the socket-free core: authentication (good, bad, revoked, expired,
 * disabled, privsep bare token), pipeline order (format → auth → body → route → permission →
 * parameters → handler), Proxmox's exact status lines and bodies, and parameter validation texts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { errorResponse } from "../src/api/ApiCore.js"
import { buildLab } from "../src/lab/Lab.js"
import * as Sandbox from "../src/Sandbox.js"
import { call } from "./support/api.js"

const start = (options: Sandbox.SandboxOptions = {}) => Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false, ...options })

const raw = (sb: Sandbox.SandboxHandle, method: string, url: string, headers: Record<string, string> = {}, body?: string) =>
  sb.handle({ method, url, headers, ...(body !== undefined ? { body } : {}) })

const auth = (t: Sandbox.SandboxToken, secret?: string) => ({ authorization: `PVEAPIToken=${t.id}=${secret ?? Redacted.value(t.secret)}` })

describe("authentication", () => {
  it.scopedLive("accepts a tier token and refuses bad, revoked, expired and disabled ones with PVE's reasons", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const good = yield* raw(sb, "GET", "/api2/json/version", auth(sb.tokens.observe))
      expect(good.status).toBe(200)
      expect(good.headers).toMatchObject({ Server: "pve-api-daemon/3.0", "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "max-age=0", Pragma: "no-cache", Connection: "Keep-Alive" })
      const cases: Array<[Record<string, string>, string]> = [
        [{}, "No ticket"],
        [{ authorization: "Bearer abc" }, "No ticket"],
        [auth(sb.tokens.observe, "00000000-0000-0000-0000-000000000000"), "invalid token value!"],
        [auth(sb.testTokens.revoked), "no such token 'revoked' for user 'test@pve'"],
        [auth(sb.testTokens.expired), "token 'expired' access expired"],
        [auth(sb.testTokens.disabled), "user 'old@pve' is disabled"],
        [{ authorization: "PVEAPIToken=garbage=x" }, "'garbage' is not a valid token ID - not able to split into user and token parts"],
        [{ authorization: "PVEAPIToken=nobody@pve!tok=x" }, "no such user ('nobody@pve')"],
        [{ authorization: "PVEAPIToken=mcp@pve!mcp-observe" }, "no tokenid specified"]
      ]
      for (const [headers, reason] of cases) {
        const r = yield* raw(sb, "GET", "/api2/json/version", headers)
        expect([r.status, r.reason, r.body]).toEqual([401, reason, ""])
        expect(r.headers["Connection"]).toBe("close")
      }
      sb.control.setFlags({ authFailureText: "generic" })
      const generic = yield* raw(sb, "GET", "/api2/json/version", auth(sb.testTokens.revoked))
      expect(generic.reason).toBe("Authentication failed!")
      expect((yield* raw(sb, "GET", "/api2/json/version", {})).reason).toBe("No ticket")
      // the secret splits at the last '='
      expect((yield* raw(sb, "GET", "/api2/json/version", { authorization: `PVEAPIToken=${sb.tokens.operate.id}=${Redacted.value(sb.tokens.operate.secret)}` })).status).toBe(200)
    })
  )

  it.scopedLive("delays every 401 by authFailureDelay", () =>
    Effect.gen(function* () {
      const sb = yield* start({ authFailureDelay: 150 })
      const t0 = Date.now()
      const r = yield* raw(sb, "GET", "/api2/json/version", auth(sb.tokens.observe, "wrong"))
      expect(r.status).toBe(401)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    })
  )

  it.scopedLive("a fresh privsep token without ACLs sees nothing: [] from lists, 403 elsewhere", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const bare = sb.testTokens.bare
      expect((yield* call(sb, bare, "GET", "/nodes/pve/lxc")).json).toEqual({ data: [] })
      expect((yield* call(sb, bare, "GET", "/cluster/resources")).json).toEqual({ data: [] })
      const r = yield* call(sb, bare, "GET", "/nodes/pve/lxc/100/status/current")
      expect([r.status, r.reason]).toEqual([403, "Permission check failed (/vms/100, VM.Audit)"])
      expect((yield* call(sb, bare, "GET", "/access/permissions")).json).toEqual({ data: {} })
      // test@pve itself has PVEAuditor on /: the intersection is what counts
      expect(sb.lab.permissions("test@pve", "/vms/100").has("VM.Audit")).toBe(true)
    })
  )
})

describe("pipeline order and error bodies", () => {
  it.scopedLive("format, auth, body, route, permission, parameters, handler", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const op = sb.tokens.operate
      const noUri = yield* raw(sb, "GET", "/api2/xml/version", auth(op))
      expect([noUri.status, noUri.reason]).toEqual([501, "no such uri"])
      // authentication comes before routing
      expect((yield* raw(sb, "GET", "/api2/json/nodes/pve/bogus", {})).status).toBe(401)
      const body = yield* raw(sb, "GET", "/api2/json/version", auth(op), "a=1")
      expect([body.status, body.reason]).toEqual([501, "Unexpected content for method 'GET'"])
      const bogus = yield* raw(sb, "GET", "/api2/json/nodes/pve/bogus", auth(op))
      expect([bogus.status, bogus.reason, bogus.body]).toEqual([
        501,
        "Method 'GET /nodes/pve/bogus' not implemented",
        `{"data":null,"message":"Method 'GET /nodes/pve/bogus' not implemented"}`
      ])
      // permission over the raw path value: no rights ⇒ 403 even for malformed input
      const forbidden = yield* call(sb, sb.testTokens.bare, "GET", "/nodes/pve/lxc/abc/status/current")
      expect([forbidden.status, forbidden.reason]).toEqual([403, "Permission check failed (/vms/abc, VM.Audit)"])
      const bad = yield* call(sb, op, "GET", "/nodes/pve/lxc/abc/status/current")
      expect(bad.status).toBe(400)
      expect(bad.reason).toBe("Parameter verification failed.")
      expect(bad.json).toEqual({ data: null, errors: { vmid: "type check ('integer') failed - got 'abc'" }, message: "Parameter verification failed.\n" })
      // the permission check names the first missing privilege, `any` lists them all
      const power = yield* call(sb, sb.tokens.observe, "POST", "/nodes/pve/lxc/100/status/stop")
      expect(power.json).toEqual({ data: null, message: "Permission check failed (/vms/100, VM.PowerMgmt)\n" })
      const rollback = yield* call(sb, op, "POST", "/nodes/pve/lxc/100/snapshot/pre-upgrade/rollback")
      expect(rollback.reason).toBe("Permission check failed (/vms/100, VM.Snapshot|VM.Snapshot.Rollback)")
      // handler errors: 500 with the message as reason and a trailing newline in the body
      const running = yield* call(sb, op, "POST", "/nodes/pve/lxc/100/status/start")
      expect([running.status, running.reason, running.json]).toEqual([500, "CT 100 already running", { data: null, message: "CT 100 already running\n" }])
      expect((yield* call(sb, op, "POST", "/nodes/pve/lxc/102/status/stop")).reason).toBe("CT 102 not running")
      expect((yield* call(sb, op, "POST", "/nodes/pve/lxc/102/status/reboot")).reason).toBe("VM 102 not running")
      expect((yield* call(sb, op, "POST", "/nodes/pve/qemu/201/status/shutdown")).reason).toBe("VM 201 not running")
      expect((yield* call(sb, op, "GET", "/nodes/pve/lxc/999/status/current")).reason).toBe("Configuration file 'nodes/pve/lxc/999.conf' does not exist")
      expect((yield* call(sb, op, "GET", "/nodes/pve/qemu/100/config")).reason).toBe("Configuration file 'nodes/pve/qemu-server/100.conf' does not exist")
      expect((yield* call(sb, op, "GET", "/nodes/other/status")).reason).toMatch(/^hostname lookup 'other' failed/)
      // legacy error bodies have no message
      sb.control.setFlags({ errorBody: "legacy" })
      expect((yield* call(sb, op, "POST", "/nodes/pve/lxc/100/status/start")).body).toBe(`{"data":null}`)
    })
  )

  it.scopedLive("parameter validation texts", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const op = sb.tokens.operate
      const admin = (() => {
        sb.lab.addUser("admin@pve")
        sb.lab.modifyAcl("/", { users: ["admin@pve"] }, ["Administrator"], 1)
        const t = sb.lab.addToken("admin@pve", "tok", { privsep: 0 })
        return { id: "admin@pve!tok", secret: Redacted.make(t._tag === "Right" ? t.right.secret : "") }
      })()
      const errors = (r: { status: number; body: string; json: { errors?: Record<string, string> } }) => r.json?.errors ?? r.status + " " + r.body
      expect(errors(yield* call(sb, op, "GET", "/nodes/pve/lxc/99/status/current"))).toEqual({ vmid: "invalid format - value does not look like a valid VM ID\n" })
      expect(errors(yield* call(sb, op, "POST", "/nodes/pve/lxc/9001/status/start", { skiplock: 1 }))).toEqual({ skiplock: "Only root may use this option." })
      expect(errors(yield* call(sb, op, "POST", "/nodes/pve/qemu/200/status/shutdown", { forceStop: "true" }))).toEqual({ forceStop: "type check ('boolean') failed - got 'true'" })
      expect(errors(yield* call(sb, op, "GET", "/nodes/pve/lxc", { bogus: "1" }))).toEqual({ bogus: "property is not defined in schema and the schema does not allow additional properties" })
      expect(errors(yield* call(sb, admin, "POST", "/nodes/pve/lxc/100/snapshot"))).toEqual({ snapname: "property is missing and it is not optional" })
      expect(errors(yield* call(sb, admin, "POST", "/nodes/pve/lxc/100/snapshot", { snapname: "bad name" }))).toEqual({ snapname: "invalid format - invalid configuration ID 'bad name'\n" })
      expect(errors(yield* call(sb, admin, "POST", "/nodes/pve/lxc/100/snapshot", { snapname: "a".repeat(41) }))).toEqual({ snapname: "value may only be 40 characters long" })
      expect(errors(yield* call(sb, op, "GET", "/cluster/resources", { type: "x" }))).toEqual({ type: "value 'x' does not have a value in the enumeration 'vm, storage, node, sdn'" })
      const reserved = yield* call(sb, admin, "POST", "/nodes/pve/lxc/100/snapshot", { snapname: "current" })
      expect([reserved.status, reserved.reason]).toEqual([500, "unable to use snapshot name 'current' (reserved name)"])
      // arrays: a scalar becomes one element, repeated keys several
      const write = yield* call(sb, admin, "POST", "/nodes/pve/qemu/200/agent/exec", { command: "true" })
      expect(write.status).toBe(200)
    })
  )

  it("a CR in the message turns the answer into 400 Bad Request with an empty body; the reason is the first line", () => {
    const lab = buildLab({ seed: 1 })
    expect(errorResponse(lab, 500, "broken\r line\n")).toMatchObject({ status: 400, reason: "Bad Request", body: "" })
    const multi = errorResponse(lab, 500, "first line\nsecond line\n")
    expect([multi.status, multi.reason]).toEqual([500, "first line"])
    expect(JSON.parse(multi.body)).toEqual({ data: null, message: "first line\nsecond line\n" })
  })

  it.scopedLive("the fidelity guard turns a response that violates the schema into a loud 500", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      sb.lab.getGuest(9001)!.config["cores"] = "many"
      const r = yield* call(sb, sb.tokens.operate, "GET", "/nodes/pve/lxc/9001/config")
      expect([r.status, r.reason]).toEqual([500, "sandbox response violates the PVE schema: data.cores: expected integer, got \"many\""])
      expect(sb.control.events().some((e) => e.decision === "schema-violation")).toBe(true)
      sb.control.setFlags({ validateResponses: false })
      expect((yield* call(sb, sb.tokens.operate, "GET", "/nodes/pve/lxc/9001/config")).status).toBe(200)
    })
  )

  it.scopedLive("every API call lands in the event log with principal and decision", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      yield* call(sb, sb.tokens.observe, "GET", "/version")
      yield* call(sb, sb.tokens.observe, "POST", "/nodes/pve/lxc/100/status/stop")
      const api = sb.control.events().filter((e) => e.kind === "api")
      expect(api.map((e) => [e.method, e.path, e.principal, e.status, e.decision])).toEqual([
        ["GET", "/api2/json/version", "mcp@pve!mcp-observe", 200, "allow"],
        ["POST", "/api2/json/nodes/pve/lxc/100/status/stop", "mcp@pve!mcp-observe", 403, "forbidden"]
      ])
    })
  )
})
