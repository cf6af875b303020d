import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { apiPath } from "@homelab-mcp/core/capabilities/PveApi"
import * as PinnedTls from "@homelab-mcp/transport/PinnedTls"
import * as PveApi from "@homelab-mcp/transport/PveApi"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { closedPort, makeCert, type Reply, startServer, type TestCert, type TestServer } from "./fixtures/pveTestServer.js"

const SECRET = "0f6c7c6e-1111-2222-3333-444455556666"
const Version = Schema.Struct({ version: Schema.String, release: Schema.String })
const Anything = Schema.Unknown

let cert: TestCert
let impostor: TestCert
let server: TestServer

const ok = (data: unknown): Reply => ({ status: 200, body: { data } })

const defaultHandler = (req: { url: string }): Reply =>
  req.url.startsWith("/api2/json/nodes") && req.url.split("?")[0] === "/api2/json/nodes"
    ? ok([{ node: "pve", status: "online" }])
    : req.url.startsWith("/api2/json/version")
      ? ok({ version: "9.1.1", release: "9.1", repoid: "f4d3f125" })
      : { status: 501, reason: "Method not implemented", body: { data: null } }

beforeAll(async () => {
  ;[cert, impostor] = await Promise.all([makeCert(), makeCert()])
  server = await startServer(cert, defaultHandler)
}, 60_000)
afterAll(() => server.close())

const reset = (handler: (req: { url: string; method: string; body: string }) => Reply = defaultHandler) => {
  server.handler = handler
  server.seen.length = 0
  server.counts.tcp = 0
  server.counts.tls = 0
  server.counts.bytes = 0
}

const options = (extra: Partial<PveApi.Options> = {}): PveApi.Options => ({
  baseUrl: server.baseUrl,
  tokenId: "mcp@pve!mcp-operate",
  tokenSecret: Redacted.make(SECRET),
  node: "pve",
  fingerprint: PinnedTls.formatPin(cert.sha256),
  timeoutMs: 2000,
  connectTimeoutMs: 1000,
  ...extra
})

const withApi = <A, E>(opts: PveApi.Options, f: (api: PveApi.PveApi["Type"]) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(PveApi.make(opts), f))

describe("PveApi pinning", () => {
  it.live("the correct pin passes; the token header and Accept are sent", () =>
    Effect.gen(function* () {
      reset()
      const v = yield* withApi(options(), (api) => api.get("/version", Version))
      expect(v).toEqual({ version: "9.1.1", release: "9.1" })
      expect(server.seen[0]!.headers["authorization"]).toBe(`PVEAPIToken=mcp@pve!mcp-operate=${SECRET}`)
      expect(server.seen[0]!.headers["accept"]).toBe("application/json")
      expect(server.counts.bytes).toBeGreaterThan(0)
    }))

  it.live("a wrong pin fails with TlsPinMismatch before any request byte, and is not retried", () =>
    Effect.gen(function* () {
      reset()
      const error = yield* Effect.flip(withApi(options({ fingerprint: PinnedTls.formatPin(impostor.sha256), retries: 2 }), (api) => api.get("/version", Version)))
      expect(error._tag).toBe("TlsPinMismatch")
      expect(error).toMatchObject({ expected: PinnedTls.formatPin(impostor.sha256), presented: PinnedTls.formatPin(cert.sha256) })
      expect(error.message).toContain("Nothing was sent")
      expect(server.seen).toHaveLength(0)
      expect(server.counts.bytes).toBe(0)
      expect(server.counts.tcp).toBe(1)
    }))

  it.live("a wrong pin on POST is not retried either", () =>
    Effect.gen(function* () {
      reset()
      const error = yield* Effect.flip(withApi(options({ fingerprint: PinnedTls.formatPin(impostor.sha256) }), (api) => api.post("/nodes/pve/lxc/100/status/start", Anything)))
      expect(error._tag).toBe("TlsPinMismatch")
      expect(server.counts).toMatchObject({ tcp: 1, bytes: 0 })
    }))

  it.live("every connection is checked: after a certificate swap the same client's next connection is refused", () =>
    Effect.gen(function* () {
      let verified = 0
      const local = yield* Effect.promise(() => startServer(cert, defaultHandler))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const api = yield* PveApi.make(options({ baseUrl: local.baseUrl, onConnectionVerified: () => verified++ }))
          yield* api.get("/version", Version)
          expect(local.seen).toHaveLength(1)
          local.setCert(impostor)
          local.dropConnections()
          yield* Effect.sleep("50 millis")
          const error = yield* Effect.flip(api.get("/version", Version))
          expect(error).toMatchObject({ _tag: "TlsPinMismatch", presented: PinnedTls.formatPin(impostor.sha256) })
          expect(local.seen).toHaveLength(1)
        })
      )
      expect(verified).toBe(1)
      expect(local.counts.tcp).toBe(2)
      yield* Effect.promise(() => local.close())
    }))

  it.live("no pin and no TOFU: TlsTrustUnavailable without connecting", () =>
    Effect.gen(function* () {
      reset()
      const error = yield* Effect.flip(withApi(options({ fingerprint: undefined }), (api) => api.get("/version", Version)))
      expect(error._tag).toBe("TlsTrustUnavailable")
      expect(server.counts.tcp).toBe(0)
    }))

  it.live("TOFU records the first certificate loudly, then pins it; a changed certificate is refused; a corrupt store fails closed", () =>
    Effect.gen(function* () {
      reset()
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tofu-"))
      const store = path.join(dir, "known_certs.json")
      const warnings: Array<string> = []
      const tofu = (extra: Partial<PveApi.Options> = {}) =>
        options({ fingerprint: undefined, tofu: true, knownCertsPath: store, onWarning: (m) => warnings.push(m), ...extra })
      yield* withApi(tofu(), (api) => api.get("/version", Version))
      const recorded = JSON.parse(fs.readFileSync(store, "utf8"))
      expect(recorded[`127.0.0.1:${server.port}`].fingerprint).toBe(PinnedTls.formatPin(cert.sha256))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(PinnedTls.colonHex(cert.sha256))
      yield* withApi(tofu(), (api) => api.get("/version", Version))
      expect(warnings).toHaveLength(1)
      const impostorServer = yield* Effect.promise(() => startServer(impostor, defaultHandler))
      fs.writeFileSync(store, JSON.stringify({ [`127.0.0.1:${impostorServer.port}`]: recorded[`127.0.0.1:${server.port}`] }))
      const mismatch = yield* Effect.flip(withApi(tofu({ baseUrl: impostorServer.baseUrl }), (api) => api.get("/version", Version)))
      expect(mismatch._tag).toBe("TlsPinMismatch")
      expect(impostorServer.seen).toHaveLength(0)
      yield* Effect.promise(() => impostorServer.close())
      fs.writeFileSync(store, "{not json")
      const corrupt = yield* Effect.flip(withApi(tofu(), (api) => api.get("/version", Version)))
      expect(corrupt._tag).toBe("TlsTrustUnavailable")
      expect(corrupt.message).toContain("not rewritten")
      expect(fs.readFileSync(store, "utf8")).toBe("{not json")
    }))
})

describe("PinnedTls.parsePin", () => {
  it("accepts every notation and normalizes to 32 bytes", async () => {
    const bytes = (await makeCert()).sha256
    const b64 = bytes.toString("base64")
    const hex = bytes.toString("hex")
    for (const form of [
      `SHA256:${b64.replace(/=+$/, "")}`,
      `sha256:${b64}`,
      b64,
      b64.replace(/=+$/, ""),
      PinnedTls.colonHex(bytes),
      PinnedTls.colonHex(bytes).toLowerCase(),
      hex,
      hex.toUpperCase(),
      `  ${hex}\n`
    ]) {
      const parsed = PinnedTls.parsePin(form)
      expect(parsed._tag, form).toBe("Right")
      if (parsed._tag === "Right") expect(parsed.right.equals(bytes)).toBe(true)
    }
    for (const bad of ["", "SHA256:abc", hex.slice(2), `${hex}00`, "AB:CD", "SHA1:" + b64, "not a pin at all"]) {
      expect(PinnedTls.parsePin(bad)._tag, bad).toBe("Left")
    }
  })
  it.live("an invalid configured pin is a startup error naming the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(withApi(options({ fingerprint: "AB:CD:EF" }), (api) => api.get("/version", Version)))
      expect(PveApi.describeStartupError(error)).toMatch(/^PVE_API_TLS_FINGERPRINT: .*SHA256:<unpadded base64>/)
    }))
})

describe("PveApi error mapping", () => {
  const fail = (reply: Reply, method: "GET" | "POST" = "GET", extra: Partial<PveApi.Options> = {}) =>
    Effect.gen(function* () {
      reset((req) => (req.url.includes("/target") ? reply : defaultHandler(req)))
      return yield* Effect.flip(
        withApi(options(extra), (api) => api.request(method, "/nodes/pve/lxc/100/status/target", Anything))
      )
    })
  const attempts = () => server.seen.filter((s) => s.url.includes("/target")).length

  it.live("401 → ApiAuthFailed with Proxmox's reason, not retried", () =>
    Effect.gen(function* () {
      const e = yield* fail({ status: 401, reason: "invalid token value!" })
      expect(e).toMatchObject({ _tag: "ApiAuthFailed", reason: "invalid token value!" })
      expect(e._tag === "ApiAuthFailed" && e.hint).toContain("re-run")
      expect(attempts()).toBe(1)
    }))

  it.live("403 Permission check failed → ApiForbidden naming path and privilege", () =>
    Effect.gen(function* () {
      const e = yield* fail({
        status: 403,
        reason: "Permission check failed (/vms/100, VM.PowerMgmt)",
        body: { data: null, message: "Permission check failed (/vms/100, VM.PowerMgmt)\n" }
      }, "POST")
      expect(e).toMatchObject({ _tag: "ApiForbidden", path: "/vms/100", privileges: ["VM.PowerMgmt"] })
      expect(e.message).toBe("The API token lacks VM.PowerMgmt on /vms/100.")
      expect(attempts()).toBe(1)
    }))

  it.live("403 with alternatives and 403 with only a reason phrase", () =>
    Effect.gen(function* () {
      const any = yield* fail({ status: 403, reason: "Permission check failed (/vms/100, VM.Snapshot|VM.Snapshot.Rollback)", body: { data: null } })
      expect(any).toMatchObject({ _tag: "ApiForbidden", path: "/vms/100", privileges: ["VM.Snapshot", "VM.Snapshot.Rollback"] })
      const bare = yield* fail({ status: 403, reason: "Forbidden", body: { data: null } })
      expect(bare).toMatchObject({ _tag: "ApiForbidden", privileges: [], reason: "Forbidden" })
    }))

  it.live("400 → ApiBadRequest with the per-parameter errors", () =>
    Effect.gen(function* () {
      const e = yield* fail({
        status: 400,
        reason: "Parameter verification failed.",
        body: { data: null, errors: { vmid: "type check ('integer') failed - got 'abc'\n" }, message: "Parameter verification failed.\n" }
      }, "POST")
      expect(e).toMatchObject({ _tag: "ApiBadRequest", errors: { vmid: "type check ('integer') failed - got 'abc'" } })
    }))

  it.live("404 and 501 → ApiNotFound", () =>
    Effect.gen(function* () {
      expect(yield* fail({ status: 404, reason: "Not Found" })).toMatchObject({ _tag: "ApiNotFound", status: 404 })
      expect(yield* fail({ status: 501, reason: "Method 'GET /x' not implemented", body: { data: null } })).toMatchObject({ _tag: "ApiNotFound", status: 501 })
      expect(attempts()).toBe(1)
    }))

  it.live("500 texts → GuestNotFound / GuestNotRunning / GuestAgentUnavailable / ApiServerError, never retried", () =>
    Effect.gen(function* () {
      const nf = yield* fail({ status: 500, reason: "Configuration file 'nodes/pve/lxc/123.conf' does not exist", body: { data: null, message: "Configuration file 'nodes/pve/lxc/123.conf' does not exist\n" } })
      expect(nf).toMatchObject({ _tag: "GuestNotFound", vmid: 123, node: "pve" })
      expect(nf.message).toBe("Guest 123 not found on node pve.")
      const nr = yield* fail({ status: 500, reason: "CT 100 not running", body: { data: null, message: "CT 100 not running\n" } })
      expect(nr).toMatchObject({ _tag: "GuestNotRunning", vmid: 100 })
      const ag = yield* fail({ status: 500, reason: "No QEMU guest agent configured", body: { data: null, message: "No QEMU guest agent configured\n" } })
      expect(ag).toMatchObject({ _tag: "GuestAgentUnavailable", vmid: 100 })
      const other = yield* fail({ status: 500, reason: "boom", body: { data: null, message: "storage 'tank' is full\nmore detail" } })
      expect(other).toMatchObject({ _tag: "ApiServerError", status: 500, reason: "storage 'tank' is full" })
      expect(attempts()).toBe(1)
    }))

  it.live("502 on GET is retried PVE_API_RETRIES times; on POST never", () =>
    Effect.gen(function* () {
      const get = yield* fail({ status: 502, reason: "Bad Gateway" }, "GET", { retries: 2 })
      expect(get).toMatchObject({ _tag: "ApiServerError", status: 502 })
      expect(attempts()).toBe(3)
      const post = yield* fail({ status: 502, reason: "Bad Gateway" }, "POST", { retries: 2 })
      expect(post._tag).toBe("ApiServerError")
      expect(attempts()).toBe(1)
    }))

  it.live("a GET recovers when a retry succeeds", () =>
    Effect.gen(function* () {
      let n = 0
      reset((req) => (req.url.includes("/flaky") ? (++n === 1 ? { status: 503, reason: "Service Unavailable" } : ok({ ok: 1 })) : defaultHandler(req)))
      const v = yield* withApi(options(), (api) => api.get("/flaky", Schema.Struct({ ok: Schema.Number })))
      expect(v).toEqual({ ok: 1 })
      expect(n).toBe(2)
    }))

  it.live("595 and 596 → ApiUnreachable (596 hints at PVE_API_NODE)", () =>
    Effect.gen(function* () {
      const e595 = yield* fail({ status: 595, reason: "No route to host" }, "GET", { retries: 0 })
      expect(e595).toMatchObject({ _tag: "ApiUnreachable", status: 595, reason: "No route to host" })
      const e596 = yield* fail({ status: 596, reason: "Broken pipe" }, "GET", { retries: 0 })
      expect(e596).toMatchObject({ _tag: "ApiUnreachable", status: 596 })
      expect(e596._tag === "ApiUnreachable" && e596.hint).toContain("PVE_API_NODE")
    }))

  it.live("a hanging answer → ApiTimeout after PVE_API_TIMEOUT_MS", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const e = yield* fail("hang", "GET", { timeoutMs: 300, retries: 0 })
      expect(e).toMatchObject({ _tag: "ApiTimeout", timeoutMs: 300 })
      expect(Date.now() - started).toBeLessThan(2000)
    }))

  it.live("the overall deadline bounds a retried call at 3 × PVE_API_TIMEOUT_MS", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const e = yield* fail("hang", "GET", { timeoutMs: 300, retries: 5 })
      expect(e).toMatchObject({ _tag: "ApiTimeout", timeoutMs: 900 })
      // a backoff never sleeps past the deadline, whatever the jitter drew
      expect(Date.now() - started).toBeGreaterThanOrEqual(880)
      expect(Date.now() - started).toBeLessThan(1200)
    }))

  it.live("an attempt whose own timeout fires after the overall deadline (a stalled event loop) ends the call on the deadline", () =>
    Effect.gen(function* () {
      // the second attempt starts 1125-1375 ms in with 1000 ms of its own, well before the 3000 ms deadline;
      // the server then stalls the process for 2 s, so that attempt's timer fires after the deadline
      let n = 0
      reset((req) => {
        if (!req.url.includes("/target")) return defaultHandler(req)
        if (++n === 2) {
          const until = Date.now() + 2000
          while (Date.now() < until) {
            // busy: the event loop is blocked, as on an overloaded machine
          }
        }
        return "hang"
      })
      const e = yield* Effect.flip(
        withApi(options({ timeoutMs: 1000, retries: 5 }), (api) => api.request("GET", "/nodes/pve/lxc/100/status/target", Anything))
      )
      expect(e._tag).toBe("ApiTimeout")
      expect(e._tag === "ApiTimeout" && e.timeoutMs).toBe(3000)
      expect(e.message).toContain("3000")
      expect(attempts()).toBe(2)
    }), 20_000)

  it.live("a connection dropped after the request → ApiUnreachable; POST is not retried", () =>
    Effect.gen(function* () {
      const e = yield* fail("destroy", "POST", { retries: 2 })
      expect(e._tag).toBe("ApiUnreachable")
      expect(attempts()).toBe(1)
    }))

  it.live("connection refused → ApiUnreachable naming the refusal", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(closedPort)
      const e = yield* Effect.flip(
        withApi(options({ baseUrl: `https://127.0.0.1:${port}` }), (api) => api.post("/nodes/pve/lxc/100/status/start", Anything))
      )
      expect(e._tag).toBe("ApiUnreachable")
      expect(e.message).toContain("refused")
    }))

  it.live("a reset before the handshake is retried even for POST (no byte sent), then fails ApiUnreachable", () =>
    Effect.gen(function* () {
      const resetting = yield* Effect.promise(() => startServer(cert, defaultHandler, "reset"))
      const e = yield* Effect.flip(
        withApi(options({ baseUrl: resetting.baseUrl, retries: 2 }), (api) => api.post("/nodes/pve/lxc/100/status/start", Anything))
      )
      expect(e._tag).toBe("ApiUnreachable")
      expect(resetting.counts.tcp).toBe(3)
      yield* Effect.promise(() => resetting.close())
    }))

  it.live("a body that is not the expected JSON → ApiServerError 'unexpected response'", () =>
    Effect.gen(function* () {
      reset((req) =>
        req.url.includes("/html") ? { status: 200, raw: "<html>" } : req.url.includes("/shape") ? ok({ version: 9 }) : defaultHandler(req)
      )
      const html = yield* Effect.flip(withApi(options(), (api) => api.get("/html", Version)))
      expect(html).toMatchObject({ _tag: "ApiServerError", reason: expect.stringContaining("unexpected response") })
      const shape = yield* Effect.flip(withApi(options(), (api) => api.get("/shape", Version)))
      expect(shape).toMatchObject({ _tag: "ApiServerError", reason: expect.stringContaining("unexpected response") })
    }))
})

describe("PveApi requests", () => {
  it.live("form-encodes POST bodies (booleans 0/1, arrays repeated) and GET query strings; segments percent-encoded", () =>
    Effect.gen(function* () {
      reset((req) => (req.url.startsWith("/api2/json/nodes/pve/") ? ok("UPID:pve:1") : defaultHandler(req)))
      yield* withApi(options(), (api) =>
        Effect.gen(function* () {
          yield* api.post(apiPath("nodes", "pve", "lxc", 100, "status", "shutdown"), Schema.String, {
            timeout: 60,
            forceStop: false,
            force: true,
            command: ["ls", "-la"],
            skip: undefined,
            note: "a b&c"
          })
          yield* api.get(apiPath("nodes", "pve", "tasks", "UPID:pve:0000:x:y:vzstart:100:root@pam:", "status"), Schema.String, { start: 0, errors: true })
        })
      )
      const [post, get] = server.seen
      expect(post!.method).toBe("POST")
      expect(post!.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(post!.body).toBe("timeout=60&forceStop=0&force=1&command=ls&command=-la&note=a+b%26c")
      expect(get!.method).toBe("GET")
      expect(get!.url).toBe("/api2/json/nodes/pve/tasks/UPID%3Apve%3A0000%3Ax%3Ay%3Avzstart%3A100%3Aroot%40pam%3A/status?start=0&errors=1")
      expect(get!.body).toBe("")
    }))

  it.live("discovers the single node when PVE_API_NODE is unset; several nodes stop startup listing them", () =>
    Effect.gen(function* () {
      reset()
      const node = yield* withApi(options({ node: undefined }), (api) => Effect.succeed(api.node))
      expect(node).toBe("pve")
      reset((req) => (req.url === "/api2/json/nodes" ? ok([{ node: "pve2" }, { node: "pve1" }]) : defaultHandler(req)))
      const e = yield* Effect.flip(withApi(options({ node: undefined }), (api) => Effect.succeed(api.node)))
      expect(PveApi.describeStartupError(e)).toBe(
        "PVE_API_NODE: the cluster has 2 nodes (pve1, pve2); set PVE_API_NODE to one of them (case-sensitive)"
      )
    }))
})

describe("PveApi.layerConfig / loadOptions", () => {
  const load = (env: Record<string, string>) =>
    Effect.withConfigProvider(PveApi.loadOptions, ConfigProvider.fromMap(new Map(Object.entries(env))))
  const good = {
    PVE_API_BASE_URL: "https://10.0.0.2",
    PVE_API_TOKEN_ID: "mcp@pve!mcp-observe",
    PVE_API_TOKEN_SECRET: SECRET,
    PVE_API_TLS_FINGERPRINT: "AB:".repeat(31) + "AB",
    MCP_DATA_DIR: "/data"
  }

  it.effect("reads every variable with defaults; the secret stays Redacted", () =>
    Effect.gen(function* () {
      const o = yield* load(good)
      expect(o).toMatchObject({ baseUrl: "https://10.0.0.2", tokenId: "mcp@pve!mcp-observe", tofu: false, timeoutMs: 15000, connectTimeoutMs: 5000, retries: 2, knownCertsPath: "/data/known_certs.json" })
      expect(Redacted.isRedacted(o.tokenSecret)).toBe(true)
      expect(String(o.tokenSecret)).not.toContain(SECRET)
      expect(Redacted.value(o.tokenSecret)).toBe(SECRET)
    }))

  it.effect("reads the secret from PVE_API_TOKEN_SECRET_FILE", () =>
    Effect.gen(function* () {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sec-")), "secret")
      fs.writeFileSync(file, `${SECRET}\n`)
      const { PVE_API_TOKEN_SECRET: _s, ...rest } = good
      const o = yield* load({ ...rest, PVE_API_TOKEN_SECRET_FILE: file })
      expect(Redacted.value(o.tokenSecret)).toBe(SECRET)
      const missing = yield* Effect.flip(load({ ...rest, PVE_API_TOKEN_SECRET_FILE: `${file}.nope` }))
      expect(PveApi.describeStartupError(missing)).toMatch(/^PVE_API_TOKEN_SECRET_FILE: cannot read .*ENOENT/)
    }))

  it.effect("each malformed value fails with one line naming the variable and the expected form", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Record<string, string>, RegExp]> = [
        [{ ...good, PVE_API_BASE_URL: "http://10.0.0.2:8006/api2/json" }, /^PVE_API_BASE_URL: http: is rejected/],
        [{ ...good, PVE_API_BASE_URL: "https://10.0.0.2:8006/api" }, /^PVE_API_BASE_URL: the path "\/api" must end with \/api2\/json/],
        [{ ...good, PVE_API_BASE_URL: "not a url" }, /^PVE_API_BASE_URL: "not a url" is not a URL/],
        [{ ...good, PVE_API_TLS_FINGERPRINT: "SHA256:short" }, /^PVE_API_TLS_FINGERPRINT: /],
        [{ ...good, PVE_API_TLS_TOFU: "yes please" }, /^PVE_API_TLS_TOFU: expected true or false/],
        [{ ...good, PVE_API_TIMEOUT_MS: "15s" }, /^PVE_API_TIMEOUT_MS: expected an integer 100\.\.600000, got "15s"/],
        [{ ...good, PVE_API_CONNECT_TIMEOUT_MS: "0" }, /^PVE_API_CONNECT_TIMEOUT_MS: expected an integer/],
        [{ ...good, PVE_API_RETRIES: "-1" }, /^PVE_API_RETRIES: expected an integer 0\.\.10/],
        [{ ...good, PVE_API_TOKEN_SECRET_FILE: "/x" }, /^PVE_API_TOKEN_SECRET_FILE: set either/],
        [{ ...good, PVE_API_TOKEN_ID: "" }, /^PVE_API_TOKEN_ID: is not set .*doctor/]
      ]
      for (const [env, pattern] of cases) {
        const e = yield* Effect.flip(load(env))
        const line = PveApi.describeStartupError(e)
        expect(line, JSON.stringify(env)).toMatch(pattern)
        expect(line).not.toContain("\n")
      }
      const { PVE_API_BASE_URL: _b, ...noUrl } = good
      expect(PveApi.describeStartupError(yield* Effect.flip(load(noUrl)))).toMatch(/^PVE_API_BASE_URL: is not set \(expected https:/)
      const { PVE_API_TOKEN_SECRET: _s, ...noSecret } = good
      expect(PveApi.describeStartupError(yield* Effect.flip(load(noSecret)))).toMatch(/^PVE_API_TOKEN_SECRET: is not set/)
    }))

  it.live("layerConfig builds the pinned client from the environment", () =>
    Effect.gen(function* () {
      reset()
      const env = ConfigProvider.fromMap(
        new Map([
          ["PVE_API_BASE_URL", `https://127.0.0.1:${server.port}`],
          ["PVE_API_TOKEN_ID", "mcp@pve!mcp-observe"],
          ["PVE_API_TOKEN_SECRET", SECRET],
          ["PVE_API_TLS_FINGERPRINT", PinnedTls.colonHex(cert.sha256)],
          ["PVE_API_TIMEOUT_MS", "2000"]
        ])
      )
      const version = yield* Effect.flatMap(PveApi.PveApi, (api) => Effect.map(api.get("/version", Version), (v) => [api.node, api.host, v.version])).pipe(
        Effect.provide(PveApi.layerConfig),
        Effect.withConfigProvider(env)
      )
      expect(version).toEqual(["pve", "127.0.0.1", "9.1.1"])
      expect(server.seen.map((s) => s.url)).toEqual(["/api2/json/nodes", "/api2/json/version"])
    }))

  it.live("a bad token id is refused at make", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(withApi(options({ tokenId: "mcp@pve" }), (api) => Effect.succeed(api.node)))
      expect(PveApi.describeStartupError(e)).toMatch(/^PVE_API_TOKEN_ID: "mcp@pve" is not a token id/)
    }))
})
