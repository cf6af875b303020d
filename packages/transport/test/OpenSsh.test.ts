/**
 * The SSH transport against a real OpenSSH sshd on loopback, started by the test (see OpenSshHarness.ts;
 * `node scripts/ensure-sshd.mjs` provides sshd).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as Ssh from "../src/Ssh.js"
import { type OpenSshd, startSshd } from "./OpenSshHarness.js"
import { noOpenChannels, sharedSuite, withStack } from "./SshSuite.js"

let sshd: OpenSshd & { stop: () => void }

beforeAll(async () => {
  sshd = await startSshd()
}, 60_000)

afterAll(() => sshd?.stop())

const connectionsLogged = () => sshd.clientConnections()

describe("OpenSSH sshd: shared suite", () => {
  sharedSuite(() => ({
    options: (extra) => sshd.options(extra),
    fingerprint: sshd.ed25519Fingerprint,
    wrongFingerprint: sshd.ecdsaFingerprint
  }))
})

describe("OpenSSH sshd: connection", () => {
  it.live("the backstop closes only that channel; fixed commands fail SshTimeout, scripts return partial output", () =>
    withStack(
      sshd.options({ commandTimeoutGraceMs: 1_500 }),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        yield* sh.exec(["true"])
        // TERM is ignored (inherited by sleep), so the wrapper's TERM does nothing until its KILL 5 s later.
        const stubborn = "trap '' TERM; echo partial; while :; do sleep 0.1; done"
        const other = yield* Effect.fork(sh.exec(["sleep", "2"], { timeoutMs: 10_000 }))
        const started = Date.now()
        const partial = yield* sh.execScript(stubborn, { timeoutMs: 1000 })
        expect(Date.now() - started).toBeLessThan(6_000)
        expect(partial).toMatchObject({ exitCode: null, signal: null, timedOut: true, stdout: "partial\n" })
        const fixed = yield* Effect.flip(sh.exec(["sh", "-c", stubborn], { timeoutMs: 1000 }))
        expect(fixed._tag).toBe("SshTimeout")
        // The other command on the same connection was unaffected.
        const o = yield* Fiber.join(other)
        expect(o.exitCode).toBe(0)
        expect(yield* noOpenChannels).toBe(0)
        const after = yield* sh.exec(["echo", "still here"])
        expect(after.stdout).toBe("still here\n")
        expect((yield* (yield* Ssh.Ssh).stats).connects).toBe(1)
      })
    ), 30_000)

  it.live("channels beyond SSH_MAX_CHANNELS queue, and waiting counts against the timeout", () =>
    withStack(
      sshd.options({ maxChannels: 3, commandTimeoutGraceMs: 500 }),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const started = Date.now()
        const all = yield* Effect.all(
          Array.from({ length: 4 }, () => sh.exec(["sleep", "1"])),
          { concurrency: "unbounded" }
        )
        const elapsed = Date.now() - started
        expect(all.every((r) => r.exitCode === 0)).toBe(true)
        expect(elapsed).toBeGreaterThanOrEqual(2_000)
        expect(elapsed).toBeLessThan(15_000)
        // Two permits busy for 4 s; a queued 1 s command's backstop (1 s + 0.5 s) fires while it waits.
        const busy = yield* Effect.fork(Effect.all([sh.exec(["sleep", "4"]), sh.exec(["sleep", "4"])], { concurrency: 2 }))
        yield* Effect.sleep("500 millis")
        const queued = yield* Effect.flip(sh.exec(["true"], { timeoutMs: 1000 }))
        expect(queued._tag).toBe("SshTimeout")
        yield* Fiber.join(busy)
        expect(yield* noOpenChannels).toBe(0)
      })
    ), 30_000)

  it.live("reconnects after the server drops the connection; an in-flight command reports SshChannelClosed", () =>
    withStack(
      sshd.options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const ssh = yield* Ssh.Ssh
        expect((yield* sh.exec(["echo", "one"])).stdout).toBe("one\n")
        const inflight = yield* Effect.fork(sh.exec(["sleep", "5"]))
        yield* Effect.sleep("500 millis")
        sshd.dropConnections()
        const cut = yield* Effect.flip(Fiber.join(inflight))
        expect(cut._tag).toBe("SshChannelClosed")
        expect((yield* sh.exec(["echo", "two"])).stdout).toBe("two\n")
        expect((yield* ssh.stats).connects).toBe(2)
        // A dropped connection noticed only when the next channel opens is reconnected too.
        sshd.dropConnections()
        expect((yield* sh.exec(["echo", "three"])).stdout).toBe("three\n")
        // And a full sshd restart.
        yield* Effect.promise(() => sshd.restart())
        expect((yield* sh.exec(["echo", "four"])).stdout).toBe("four\n")
        expect((yield* ssh.stats).connects).toBe(4)
        expect(yield* noOpenChannels).toBe(0)
      })
    ), 30_000)

  it.live("host-key algorithms are restricted to the pinned type", () =>
    Effect.gen(function*() {
      // The ecdsa key is accepted when it is the pinned type.
      const ok = yield* withStack(
        sshd.options({ hostKeyFingerprint: sshd.ecdsaFingerprint, hostKeyAlgorithm: "ecdsa-sha2-nistp256" }),
        Effect.gen(function*() {
          yield* (yield* NodeShell).exec(["true"])
          return yield* (yield* Ssh.Ssh).stats
        })
      )
      expect(ok.presentedFingerprint).toBe(sshd.ecdsaFingerprint)
      // Pinned ed25519 but restricted to ecdsa: the ecdsa key is presented and refused, never the ed25519 one.
      const mismatch = yield* withStack(
        sshd.options({ hostKeyAlgorithm: "ecdsa-sha2-nistp256" }),
        Effect.flip(Effect.flatMap(NodeShell, (sh) => sh.exec(["true"])))
      )
      expect(mismatch).toMatchObject({
        _tag: "SshHostKeyMismatch",
        expected: sshd.ed25519Fingerprint,
        presented: sshd.ecdsaFingerprint
      })
      // A type the server does not offer.
      const none = yield* withStack(
        sshd.options({ hostKeyAlgorithm: "rsa-sha2-512" }),
        Effect.flip(Effect.flatMap(NodeShell, (sh) => sh.exec(["true"])))
      )
      expect(none._tag).toBe("SshHostKeyMismatch")
      expect(none._tag === "SshHostKeyMismatch" && none.presented).toMatch(/no rsa-sha2-512 host key/)
    }))

  it.live("a mismatch is not retried even after a successful connection", () =>
    withStack(
      sshd.options({ reconnectDelayMs: 20_000 }),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        yield* sh.exec(["true"])
        yield* Effect.addFinalizer(() => Effect.promise(() => restoreKey()))
        const before = connectionsLogged()
        // Swap the server's ed25519 host key, then drop the connection: the reconnect sees a new key.
        fs.copyFileSync(path.join(sshd.dir, "host_ed25519"), path.join(sshd.dir, "host_ed25519.orig"))
        fs.copyFileSync(path.join(sshd.dir, "host_ed25519.pub"), path.join(sshd.dir, "host_ed25519.pub.orig"))
        fs.rmSync(path.join(sshd.dir, "host_ed25519"))
        fs.rmSync(path.join(sshd.dir, "host_ed25519.pub"))
        const { execFileSync } = yield* Effect.promise(() => import("node:child_process"))
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(sshd.dir, "host_ed25519")])
        yield* Effect.promise(() => sshd.restart())
        const started = Date.now()
        const e = yield* Effect.flip(sh.exec(["true"]))
        expect(e._tag).toBe("SshHostKeyMismatch")
        expect(e._tag === "SshHostKeyMismatch" && e.expected).toBe(sshd.ed25519Fingerprint)
        expect(Date.now() - started).toBeLessThan(8_000)
        expect(connectionsLogged() - before).toBe(1)
      }).pipe(Effect.scoped)
    ), 30_000)

  it.live("authentication: a stranger key is SshAuthFailed and not retried; passphrase keys work", () =>
    Effect.gen(function*() {
      const run = (extra: Partial<Ssh.SshOptions>) => {
        const { privateKey: _inline, ...fromFile } = sshd.options(extra)
        return withStack(fromFile, Effect.flatMap(NodeShell, (sh) => sh.exec(["echo", "in"])))
      }
      const before = connectionsLogged()
      const stranger = yield* Effect.flip(run({ keyPath: sshd.strangerKeyPath, reconnectDelayMs: 2_000 }))
      expect(stranger._tag).toBe("SshAuthFailed")
      expect(connectionsLogged() - before).toBe(1)
      const enc = yield* run({ keyPath: sshd.encryptedKeyPath, passphrase: Redacted.make(sshd.passphrase) })
      expect(enc.stdout).toBe("in\n")
      const noPass = yield* Effect.flip(run({ keyPath: sshd.encryptedKeyPath }))
      expect(noPass._tag).toBe("SshAuthFailed")
      expect(noPass.message).not.toContain(sshd.passphrase)
      const wrongPass = yield* Effect.flip(run({ keyPath: sshd.encryptedKeyPath, passphrase: Redacted.make("nope") }))
      expect(wrongPass._tag).toBe("SshAuthFailed")
      const missing = yield* Effect.flip(run({ keyPath: path.join(sshd.dir, "absent") }))
      expect(missing).toMatchObject({ _tag: "SshAuthFailed" })
      expect(missing.message).toContain("SSH_KEY_PATH")
      expect(missing.message).toContain("ENOENT")
    }), 30_000)

  it.live("a closed port is SshUnreachable; a silent peer is SshTimeout", () =>
    Effect.gen(function*() {
      const net = yield* Effect.promise(() => import("node:net"))
      const sockets: Array<import("node:net").Socket> = []
      const srv = net.createServer((sock) => void sockets.push(sock))
      const port = yield* Effect.promise(
        () => new Promise<number>((r) => srv.listen(0, "127.0.0.1", () => r((srv.address() as { port: number }).port)))
      )
      const silent = yield* Effect.flip(
        withStack(sshd.options({ port, connectTimeoutMs: 500 }), Effect.flatMap(NodeShell, (sh) => sh.exec(["true"])))
      )
      expect(silent._tag).toBe("SshTimeout")
      expect(silent.message).toContain("500 ms")
      for (const s of sockets) s.destroy()
      yield* Effect.promise(() => new Promise((r) => srv.close(r)))
      const closed = yield* Effect.flip(
        withStack(sshd.options({ port }), Effect.flatMap(NodeShell, (sh) => sh.exec(["true"])))
      )
      expect(closed._tag).toBe("SshUnreachable")
      expect(closed.message).toContain("ECONNREFUSED")
    }))

  it.live("three missed keepalives mark the connection dead; the next call reconnects", () =>
    withStack(
      sshd.options({ keepaliveMs: 200 }),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const ssh = yield* Ssh.Ssh
        yield* sh.exec(["true"])
        const children = fs.readFileSync(`/proc/${sshdPid()}/task/${sshdPid()}/children`, "utf8").trim().split(/\s+/).map(Number)
        for (const c of children) process.kill(c, "SIGSTOP")
        let connected = true
        for (let i = 0; i < 40 && connected; i++) {
          yield* Effect.sleep("100 millis")
          connected = (yield* ssh.stats).connected
        }
        for (const c of children) {
          try {
            process.kill(c, "SIGKILL")
            process.kill(c, "SIGCONT")
          } catch {
            // gone
          }
        }
        expect(connected).toBe(false)
        expect((yield* sh.exec(["echo", "back"])).stdout).toBe("back\n")
        expect((yield* ssh.stats).connects).toBe(2)
      })
    ), 30_000)

  it.live("trust: no pin and no TOFU refuses before connecting; TOFU records once and then pins", () =>
    Effect.gen(function*() {
      const store = path.join(sshd.dir, "tofu", "known_hosts.json")
      const { hostKeyFingerprint: _drop, ...unpinned } = sshd.options()
      const before = connectionsLogged()
      const refused = yield* Effect.flip(withStack(unpinned, Effect.flatMap(NodeShell, (sh) => sh.exec(["true"]))))
      expect(refused._tag).toBe("SshTrustUnavailable")
      expect(connectionsLogged()).toBe(before)
      const warnings: Array<string> = []
      const tofu = { ...unpinned, tofu: true, knownHostsPath: store, warn: (m: string) => warnings.push(m) }
      yield* withStack(tofu, Effect.flatMap(NodeShell, (sh) => sh.exec(["true"])))
      expect(warnings.length).toBe(1)
      expect(warnings[0]).toContain(sshd.ed25519Fingerprint)
      const recorded = JSON.parse(fs.readFileSync(store, "utf8"))
      expect(recorded[`127.0.0.1:${sshd.port}`].fingerprint).toBe(sshd.ed25519Fingerprint)
      expect(fs.statSync(store).mode & 0o777).toBe(0o600)
      // Second use: pinned by the store, no warning.
      yield* withStack(tofu, Effect.flatMap(NodeShell, (sh) => sh.exec(["true"])))
      expect(warnings.length).toBe(1)
      // A different recorded key is a mismatch, and the store is not rewritten.
      const tampered = { [`127.0.0.1:${sshd.port}`]: { ...recorded[`127.0.0.1:${sshd.port}`], fingerprint: sshd.ecdsaFingerprint } }
      fs.writeFileSync(store, JSON.stringify(tampered))
      const mismatch = yield* Effect.flip(withStack(tofu, Effect.flatMap(NodeShell, (sh) => sh.exec(["true"]))))
      expect(mismatch).toMatchObject({ _tag: "SshHostKeyMismatch", expected: sshd.ecdsaFingerprint })
      expect(JSON.parse(fs.readFileSync(store, "utf8"))).toStrictEqual(tampered)
      // A store that cannot be parsed fails closed and is left alone.
      fs.writeFileSync(store, "{not json")
      const broken = yield* Effect.flip(withStack(tofu, Effect.flatMap(NodeShell, (sh) => sh.exec(["true"]))))
      expect(broken._tag).toBe("SshTrustUnavailable")
      expect(broken.message).toContain("not valid JSON")
      expect(fs.readFileSync(store, "utf8")).toBe("{not json")
    }))
})

describe("OpenSSH sshd: scanHostKey", () => {
  it.live("reads each key type's fingerprint without authenticating", () =>
    Effect.gen(function*() {
      const before = sshd.log().match(/Accepted|Failed publickey/g)?.length ?? 0
      const ed = yield* Ssh.scanHostKey({ host: "127.0.0.1", port: sshd.port })
      expect(ed).toStrictEqual({ fingerprint: sshd.ed25519Fingerprint, algorithm: "ssh-ed25519" })
      const ec = yield* Ssh.scanHostKey({ host: "127.0.0.1", port: sshd.port, algorithm: "ecdsa-sha2-nistp256" })
      expect(ec.fingerprint).toBe(sshd.ecdsaFingerprint)
      const rsa = yield* Effect.flip(Ssh.scanHostKey({ host: "127.0.0.1", port: sshd.port, algorithm: "ssh-rsa" }))
      expect(rsa._tag).toBe("SshHostKeyMismatch")
      expect(sshd.log().match(/Accepted|Failed publickey/g)?.length ?? 0).toBe(before)
      const closed = yield* Effect.flip(Ssh.scanHostKey({ host: "127.0.0.1", port: 1 }))
      expect(closed._tag).toBe("SshUnreachable")
    }))
})

describe("OpenSSH sshd with MaxSessions 2", () => {
  let tight: OpenSshd & { stop: () => void }
  beforeAll(async () => {
    tight = await startSshd(["MaxSessions 2"])
  }, 60_000)
  afterAll(() => tight?.stop())

  it.live("a refused channel is SshChannelClosed naming the refusal; nothing hangs and the connection survives", () =>
    withStack(
      tight.options({ maxChannels: 8 }),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        const results = yield* Effect.all(
          Array.from({ length: 4 }, () => Effect.either(sh.exec(["sleep", "1"]))),
          { concurrency: "unbounded" }
        )
        const refused = results.filter((r) => r._tag === "Left")
        expect(results.filter((r) => r._tag === "Right").length).toBeGreaterThanOrEqual(1)
        expect(refused.length).toBeGreaterThanOrEqual(1)
        for (const r of refused) {
          expect(r._tag === "Left" && r.left._tag).toBe("SshChannelClosed")
          expect(r._tag === "Left" && r.left.message).toMatch(/refused a channel/)
        }
        expect((yield* sh.exec(["echo", "ok"])).stdout).toBe("ok\n")
        expect((yield* (yield* Ssh.Ssh).stats).connects).toBe(1)
      })
    ), 30_000)
})

describe("OpenSSH sshd without an SFTP subsystem", () => {
  let bare: OpenSshd & { stop: () => void }
  beforeAll(async () => {
    bare = await startSshd([], false)
  }, 60_000)
  afterAll(() => bare?.stop())

  it.live("file transfer fails naming the missing subsystem; exec still works", () =>
    withStack(
      bare.options(),
      Effect.gen(function*() {
        const sh = yield* NodeShell
        expect((yield* sh.exec(["echo", "ok"])).stdout).toBe("ok\n")
        const e = yield* Effect.flip(sh.readFile("/etc/hostname"))
        expect(e._tag).toBe("CommandFailed")
        expect(e.message).toMatch(/SFTP subsystem/)
      })
    ))
})

const sshdPid = (): number => sshd.listenerPid()

/** Puts the original ed25519 host key back and restarts sshd (after the key-swap test). */
const restoreKey = async () => {
  const orig = path.join(sshd.dir, "host_ed25519.orig")
  if (!fs.existsSync(orig)) return
  fs.copyFileSync(orig, path.join(sshd.dir, "host_ed25519"))
  fs.copyFileSync(path.join(sshd.dir, "host_ed25519.pub.orig"), path.join(sshd.dir, "host_ed25519.pub"))
  fs.rmSync(orig)
  await sshd.restart()
}
