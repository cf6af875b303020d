import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as PinnedTls from "@homelab-mcp/transport/PinnedTls"
import * as TrustStore from "@homelab-mcp/transport/TrustStore"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { closedPort, makeCert, startServer, type TestCert, type TestServer } from "./fixtures/pveTestServer.js"

let cert: TestCert
let server: TestServer

beforeAll(async () => {
  cert = await makeCert()
  server = await startServer(cert, () => ({ status: 200, body: { data: null } }))
}, 60_000)
afterAll(() => server.close())

describe("PinnedTls notation helpers", () => {
  it("formats SHA256: unpadded base64 and colon hex, both parse back to the same bytes", () => {
    const pin = PinnedTls.formatPin(cert.sha256)
    expect(pin).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    const colon = PinnedTls.colonHex(cert.sha256)
    expect(colon).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    for (const form of [pin, colon]) {
      const parsed = PinnedTls.parsePin(form)
      expect(parsed._tag === "Right" && parsed.right.equals(cert.sha256)).toBe(true)
    }
  })
  it("rejects base64 with non-canonical trailing bits and the wrong length", () => {
    const b64 = cert.sha256.toString("base64").replace(/=+$/, "")
    const last = b64.at(-1)!
    const tweaked = b64.slice(0, -1) + (last === "A" ? "B" : "A")
    // either a different valid pin or non-canonical: never the original bytes
    const parsed = PinnedTls.parsePin(tweaked)
    expect(parsed._tag === "Right" && parsed.right.equals(cert.sha256)).toBe(false)
    expect(PinnedTls.parsePin(b64 + "AAAA")._tag).toBe("Left")
    expect(PinnedTls.parsePin(`SHA256:${b64}==`)._tag).toBe("Left")
  })
})

describe("PinnedTls.probe", () => {
  it.live("returns the presented leaf's SHA-256 without sending a request", () =>
    Effect.gen(function* () {
      server.seen.length = 0
      server.counts.bytes = 0
      const fp = yield* PinnedTls.probe("127.0.0.1", server.port, 2000)
      expect(fp.equals(cert.sha256)).toBe(true)
      yield* Effect.sleep("20 millis")
      expect(server.seen).toHaveLength(0)
      expect(server.counts.bytes).toBe(0)
    }))
  it.live("fails with ApiUnreachable when nothing listens", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(closedPort)
      const error = yield* Effect.flip(PinnedTls.probe("127.0.0.1", port, 2000))
      expect(error._tag).toBe("ApiUnreachable")
      expect(error.message).toContain("refused")
    }))
})

describe("TrustStore", () => {
  const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "known-")), "sub", "known_certs.json")
  const pin = () => PinnedTls.formatPin(cert.sha256)

  it.live("a missing store is empty; record creates it (0600) and keeps other entries", () =>
    Effect.gen(function* () {
      const file = tmp()
      expect(yield* TrustStore.read(file)).toEqual({})
      yield* TrustStore.record(file, "a:8006", pin(), new Date("2026-01-01T00:00:00Z"))
      yield* TrustStore.record(file, "b:8006", pin(), new Date("2026-01-02T00:00:00Z"))
      const store = yield* TrustStore.read(file)
      expect(Object.keys(store).sort()).toEqual(["a:8006", "b:8006"])
      expect(store["a:8006"]).toEqual({ fingerprint: pin(), firstSeen: "2026-01-01T00:00:00.000Z" })
      if (process.platform !== "win32") expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    }))

  it.live("record never replaces an existing entry (no automatic re-pinning)", () =>
    Effect.gen(function* () {
      const file = tmp()
      yield* TrustStore.record(file, "a:8006", pin(), new Date())
      const other = PinnedTls.formatPin(Buffer.alloc(32, 7))
      const kept = yield* TrustStore.record(file, "a:8006", other, new Date())
      expect(kept.fingerprint).toBe(pin())
      expect((yield* TrustStore.lookup(file, "a:8006"))?.fingerprint).toBe(pin())
    }))

  it.live("an unparsable store or an invalid entry fails closed and is left untouched", () =>
    Effect.gen(function* () {
      const file = tmp()
      fs.mkdirSync(path.dirname(file), { recursive: true })
      for (const text of ["[]", "{", JSON.stringify({ "a:8006": { fingerprint: "nope" } })]) {
        fs.writeFileSync(file, text)
        const error = yield* Effect.flip(TrustStore.record(file, "b:8006", pin(), new Date()))
        expect(error._tag).toBe("TlsTrustUnavailable")
        expect(fs.readFileSync(file, "utf8")).toBe(text)
      }
    }))
})
