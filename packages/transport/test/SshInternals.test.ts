/**
 * Pure pieces of the SSH transport: output caps, fingerprints, the node wrapper and budgets, the timedOut
 * rule, the TOFU store, the reconnect schedule (TestClock), and the guest output parsers.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import fc from "fast-check"
import type { SFTPWrapper } from "ssh2"
import { backstopMs, isTimedOut, secondsOf, wrapArgv, wrapperMs } from "../src/internal/sshCommand.js"
import { fingerprintOf, keyTypeOf, negotiableAlgorithms, normalizeFingerprint } from "../src/internal/sshFingerprint.js"
import { agentUnavailable, fileMissing, fileProblem, notRunning, parseFileRead, parsePctProbe, parseQmExec, parseSha256Sum, parseStat, signalName } from "../src/internal/sshGuest.js"
import { readKnownHosts, recordKnownHost } from "../src/internal/sshKnownHosts.js"
import { CappedBuffer, capBytes, omissionMarker } from "../src/internal/sshOutput.js"
import * as Sftp from "../src/internal/sshSftp.js"
import { reconnectSchedule, resolveSettings } from "../src/Ssh.js"

describe("output caps", () => {
  it("keeps everything under the cap and decodes after assembly", () => {
    const b = new CappedBuffer(100)
    const text = Buffer.from("é€😀", "utf8")
    for (const byte of text) b.push(Uint8Array.of(byte))
    expect(b.result()).toStrictEqual({ text: "é€😀", bytes: 9, truncated: false })
  })

  it("keeps the first and last halves and counts the rest", () => {
    const b = new CappedBuffer(10)
    b.push(Buffer.from("0123456789abcdefghij"))
    b.push(Buffer.from("XYZ"))
    const r = b.result()
    expect(r.bytes).toBe(23)
    expect(r.truncated).toBe(true)
    expect(r.text).toBe("01234" + omissionMarker(13) + "ijXYZ")
    expect(b.whole()).toBeNull()
  })

  it("matches a reference for any chunking (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 30 }), fc.integer({ min: 2, max: 120 }), (chunks, cap) => {
        const b = new CappedBuffer(cap)
        for (const c of chunks) b.push(c)
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)))
        expect(b.bytes).toBe(all.length)
        if (all.length <= cap) {
          expect(b.whole()).toStrictEqual(all)
        } else {
          const head = Math.floor(cap / 2)
          const tail = cap - head
          expect(b.result().text).toBe(
            all.subarray(0, head).toString("utf8") + omissionMarker(all.length - cap) + all.subarray(all.length - tail).toString("utf8")
          )
        }
      })
    )
  })

  it("capBytes caps a complete buffer", () => {
    expect(capBytes(Buffer.from("abcdefghij"), 4)).toStrictEqual({ text: "ab" + omissionMarker(6) + "ij", bytes: 10, truncated: true })
  })
})

describe("fingerprints", () => {
  const blob = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", "base64")

  it("computes the ssh-keygen form and reads the key type", () => {
    const fp = fingerprintOf(blob)
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(keyTypeOf(blob)).toBe("ssh-ed25519")
  })

  it("normalizes every accepted spelling and rejects the rest", () => {
    const fp = fingerprintOf(blob)
    const bare = fp.slice("SHA256:".length)
    for (const input of [fp, bare, bare + "=", `256 ${fp} root@pve (ED25519)`, `  ${fp}\n`]) {
      expect(normalizeFingerprint(input)).toStrictEqual(Either.right(fp))
    }
    for (const bad of ["", "SHA256:short", "MD5:aa:bb", "zz".repeat(32), fp + "x"]) {
      expect(Either.isLeft(normalizeFingerprint(bad))).toBe(true)
    }
  })

  it("restricts negotiation to the pinned type (RSA signatures share one key)", () => {
    expect(negotiableAlgorithms("ssh-ed25519")).toStrictEqual(["ssh-ed25519"])
    expect(negotiableAlgorithms("ssh-rsa")).toStrictEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"])
  })

  it("a malformed pin is SshTrustUnavailable naming the variable", () => {
    const r = resolveSettings({ host: "h", hostKeyFingerprint: "nope" })
    expect(Either.isLeft(r) && r.left.message).toContain("SSH_HOST_KEY_FINGERPRINT")
  })
})

describe("node wrapper and budgets", () => {
  it("secs = max(1, ceil(ms / 1000))", () => {
    expect([1, 999, 1000, 1001, 30_000].map(secondsOf)).toStrictEqual([1, 1, 1, 2, 30])
  })

  it("budgets nest: requested < wrapper < backstop", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 0, max: 60_000 }), (ms, grace) => {
      const nestedWrapper = wrapperMs(ms, true)
      expect(nestedWrapper).toBe(ms + 5_000)
      expect(backstopMs(nestedWrapper, grace)).toBeGreaterThanOrEqual(nestedWrapper + grace)
      expect(wrapperMs(ms, false)).toBe(ms)
    }))
  })

  it("emits the exact GNU wrapper with every argv element quoted", () => {
    expect(wrapArgv(["pct", "exec", "100", "--", "bash", "-c", "echo 'x'"], 2_500)).toBe(
      "'timeout' '--signal=TERM' '--kill-after=5' '3' 'pct' 'exec' '100' '--' 'bash' '-c' 'echo '\\''x'\\'''"
    )
  })

  it("timedOut only for 124/137/143/signal after the requested time", () => {
    expect(isTimedOut(124, null, 1000, 1000)).toBe(true)
    expect(isTimedOut(137, null, 5000, 1000)).toBe(true)
    // BusyBox timeout (Alpine guests) leaves the TERM-killed command's status
    expect(isTimedOut(143, null, 1013, 1000)).toBe(true)
    expect(isTimedOut(143, null, 10, 1000)).toBe(false)
    expect(isTimedOut(null, "SIGKILL", 1500, 1000)).toBe(true)
    expect(isTimedOut(124, null, 10, 1000)).toBe(false)
    expect(isTimedOut(null, "SIGKILL", 10, 1000)).toBe(false)
    expect(isTimedOut(1, null, 5000, 1000)).toBe(false)
    expect(isTimedOut(0, null, 5000, 1000)).toBe(false)
  })
})

describe("SFTP calls", () => {
  it.live("a request never answered ends at its limit, inside a finalizer too (no interruption needed)", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const e = yield* Effect.flip(Effect.uninterruptible(Sftp.call<void>("close", "/tmp/mcp.x", () => undefined, 50)))
      expect(e).toMatchObject({ _tag: "SshTimeout", what: "SFTP close /tmp/mcp.x", timeoutMs: 50 })
      expect(Date.now() - started).toBeLessThan(2_000)
    }))

  it.effect("closing a handle of a session whose channel closed fails at once instead of waiting for an answer", () =>
    Effect.gen(function*() {
      let sent = 0
      const closed = { outgoing: { state: "closed" }, close: () => void sent++ } as unknown as SFTPWrapper
      expect(Sftp.isOpen(closed)).toBe(false)
      expect(yield* Effect.flip(Sftp.close(closed, "/tmp/mcp.x", Buffer.from("h")))).toMatchObject({ _tag: "SshChannelClosed" })
      expect(sent).toBe(0)
      const open = { outgoing: { state: "open" }, close: (_h: Buffer, cb: (e?: Error) => void) => cb() } as unknown as SFTPWrapper
      yield* Sftp.close(open, "/tmp/mcp.x", Buffer.from("h"))
    }))
})

describe("TOFU store", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "hmcp-tofu-"))

  it("absent is empty; recorded atomically with 0600; entries survive", () => {
    const file = path.join(tmp(), "sub", "known_hosts.json")
    expect(readKnownHosts(file)).toStrictEqual(Either.right({}))
    const e = { fingerprint: "SHA256:a", algorithm: "ssh-ed25519", recordedAt: "2026-01-01T00:00:00.000Z" }
    expect(Either.isRight(recordKnownHost(file, "h:22", e))).toBe(true)
    expect(Either.isRight(recordKnownHost(file, "g:2222", { ...e, fingerprint: "SHA256:b" }))).toBe(true)
    const read = readKnownHosts(file)
    expect(Either.getOrThrow(read)).toStrictEqual({ "h:22": e, "g:2222": { ...e, fingerprint: "SHA256:b" } })
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readdirSync(path.dirname(file))).toStrictEqual(["known_hosts.json"])
  })

  it("fails closed on unreadable or malformed stores and never rewrites them", () => {
    const dir = tmp()
    const file = path.join(dir, "known_hosts.json")
    for (const bad of ["{", "[]", "{\"h:22\": {\"fingerprint\": 1}}"]) {
      fs.writeFileSync(file, bad)
      expect(Either.isLeft(readKnownHosts(file))).toBe(true)
      const w = recordKnownHost(file, "x:22", { fingerprint: "f", algorithm: "a", recordedAt: "t" })
      expect(Either.isLeft(w)).toBe(true)
      expect(fs.readFileSync(file, "utf8")).toBe(bad)
    }
    fs.rmSync(file)
    fs.mkdirSync(file)
    const r = readKnownHosts(file)
    expect(Either.isLeft(r) && r.left).toMatch(/cannot be read/)
  })
})

describe("reconnect schedule (TestClock)", () => {
  it.effect("5 attempts, delays doubling from the base, times 0.5-1.0, capped at 60 s", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      let last = 0
      const attempt = Effect.gen(function*() {
        const now = yield* TestClock.currentTimeMillis
        delays.push(now - last)
        last = now
        return yield* Effect.fail("down")
      })
      const fiber = yield* Effect.fork(Effect.retry(attempt, reconnectSchedule(3_000, 5)).pipe(Effect.either))
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("30 seconds")
      const r = yield* Fiber.join(fiber)
      expect(Either.isLeft(r)).toBe(true)
      expect(delays.length).toBe(5)
      const waits = delays.slice(1)
      waits.forEach((w, i) => {
        const base = Math.min(3_000 * 2 ** i, 60_000)
        expect(w).toBeGreaterThanOrEqual(base * 0.5 - 1)
        expect(w).toBeLessThanOrEqual(base)
      })
    }))

  it.effect("the cap holds for large bases", () =>
    Effect.gen(function*() {
      let count = 0
      let maxGap = 0
      let last = 0
      const attempt = Effect.gen(function*() {
        const now = yield* TestClock.currentTimeMillis
        if (count > 0) maxGap = Math.max(maxGap, now - last)
        last = now
        count++
        return yield* Effect.fail("down")
      })
      const fiber = yield* Effect.fork(Effect.retry(attempt, reconnectSchedule(50_000, 5)).pipe(Effect.either))
      for (let i = 0; i < 40; i++) yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fiber)
      expect(count).toBe(5)
      expect(maxGap).toBeLessThanOrEqual(60_000)
    }))
})

describe("guest output parsers", () => {
  it("recognizes Proxmox's stopped-guest and agent texts", () => {
    expect(notRunning(100, "container '100' not running!\n")?._tag).toBe("GuestNotRunning")
    expect(notRunning(102, "can only push files to a running CT\n")?._tag).toBe("GuestNotRunning")
    expect(notRunning(200, "VM 200 is not running\n")?._tag).toBe("GuestNotRunning")
    expect(notRunning(200, "QEMU guest agent is not running\n")).toBeNull()
    expect(agentUnavailable(200, "QEMU guest agent is not running\n")?._tag).toBe("GuestAgentUnavailable")
    expect(agentUnavailable(200, "No QEMU guest agent configured\n")?.message).toContain("No QEMU guest agent configured")
    expect(agentUnavailable(200, "some other failure")).toBeNull()
  })

  it("reads the errno text that ends an agent or pct failure, not the 'failed to open' around it", () => {
    expect(fileProblem("Agent error: failed to open file '/x' (mode: 'r'): No such file or directory\n")).toBe("missing")
    expect(fileProblem("Agent error: failed to open file '/nodir/x' (mode: 'wb'): No such file or directory\n")).toBe("missing")
    expect(fileProblem("Agent error: failed to read file: Is a directory\n")).toBe("directory")
    expect(fileProblem("Agent error: failed to open file '/tmp/d' (mode: 'wb'): Is a directory\n")).toBe("directory")
    expect(fileProblem("failed to open /etc/missing: No such file or directory\n")).toBe("missing")
    expect(fileProblem("warning: x\nfailed to open /etc/missing: No such file or directory at /usr/share/perl5/PVE/CLI/pct.pm line 9.\n")).toBe("missing")
    expect(fileProblem("Agent error: failed to open file '/root/x' (mode: 'r'): Permission denied\n")).toBeNull()
    expect(fileProblem("Agent error: failed to open file '/a: Is a directory' (mode: 'r'): No such file or directory\n")).toBe("missing")
    expect(fileProblem("Agent error: failed to open file '/a: No such file or directory' (mode: 'r'): Permission denied\n")).toBeNull()
    // a bare "Failed to open file" (no errno) is a missing file, as transport-trust.md §4.3 names it
    expect(fileProblem("Failed to open file\n")).toBe("missing")
    expect(fileProblem("Agent error: Failed to open file\n")).toBe("missing")
    expect(fileMissing("Agent error: failed to open file '/tmp' (mode: 'r'): Is a directory\n")).toBe(false)
    expect(fileMissing("failed to open /x: No such file or directory\n")).toBe(true)
  })

  it("parses stat lines", () => {
    expect(parseStat("regular empty file|0|644|0|0\n")).toStrictEqual({ type: "file", fileType: "regular empty file", size: 0, mode: "644", uid: 0, gid: 0 })
    expect(parseStat("directory|4096|755|1000|1000\n")?.type).toBe("directory")
    expect(parseStat("symbolic link|7|777|0|0")?.type).toBe("symlink")
    // %a drops leading zeros: /etc/shadow is 0000 on RHEL, "0" in stat's words
    expect(parseStat("regular file|900|0|0|0")?.mode).toBe("000")
    expect(parseStat("regular file|900|44|0|0")?.mode).toBe("044")
    expect(parseStat("regular file|900|4755|0|0")?.mode).toBe("4755")
    expect(parseStat("character special file|0|666|0|0")?.type).toBe("other")
    expect(parseStat("garbage")).toBeNull()
  })

  it("parses the probe", () => {
    expect(parsePctProbe("bash=yes\ntimeout=yes\nbusybox=no\n")).toStrictEqual({ bash: true, timeout: true, timeoutPresent: true, busybox: false })
    expect(parsePctProbe("bash=no\ntimeout=broken\nbusybox=yes\n")).toStrictEqual({ bash: false, timeout: false, timeoutPresent: true, busybox: true })
    expect(parsePctProbe("bash=no\ntimeout=no\n")?.timeoutPresent).toBe(false)
    expect(parsePctProbe("sh: not found")).toBeNull()
  })

  it("parses qm guest exec JSON (Perl pretty and compact), pid on timeout", () => {
    const pretty = "{\n   \"exitcode\" : 3,\n   \"exited\" : 1,\n   \"out-data\" : \"hi\\n\"\n}\n"
    expect(parseQmExec(pretty)).toMatchObject({ exited: true, exitcode: 3, outData: "hi\n", pid: null })
    expect(parseQmExec("{\"pid\":4242}")).toMatchObject({ exited: false, pid: 4242 })
    expect(parseQmExec("{\"exited\":1,\"signal\":9}")).toMatchObject({ exited: true, signal: 9, exitcode: null })
    expect(parseQmExec("not json")).toBeNull()
    expect(parseQmExec("{\"other\":1}")).toBeNull()
    expect(signalName(9)).toBe("SIGKILL")
    expect(signalName(999)).toBe("SIG999")
  })

  it("parses agent file-read JSON", () => {
    expect(parseFileRead("{\"bytes-read\":2,\"content\":\"aGk=\",\"truncated\":1}")).toStrictEqual({ content: Buffer.from("hi"), truncated: true })
    expect(parseFileRead("{\"content\":\"\"}")).toStrictEqual({ content: Buffer.alloc(0), truncated: false })
    expect(parseFileRead("{\"content\":\"!!\"}")).toBeNull()
    expect(parseFileRead("")).toBeNull()
  })
})

describe("parseSha256Sum", () => {
  const hash = "2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806"
  it("reads GNU's plain and escaped lines, BusyBox's and stdin's", () => {
    expect(parseSha256Sum(`${hash}  /etc/hosts\n`)).toBe(hash)
    // GNU coreutils: a name with a backslash or newline is escaped and the line starts with a backslash
    expect(parseSha256Sum(`\\${hash}  /root/a\\\\b\n`)).toBe(hash)
    expect(parseSha256Sum(`${hash}  -\n`)).toBe(hash)
    expect(parseSha256Sum(hash)).toBe(hash)
  })

  it("anything else comes back as its first word, for the mismatch report", () => {
    expect(parseSha256Sum("sha256sum: /x: No such file or directory\n")).toBe("sha256sum:")
    expect(parseSha256Sum(`${hash}0  x`)).toBe(`${hash}0`)
    expect(parseSha256Sum(`\\${hash.toUpperCase()}  x`)).toBe(`\\${hash.toUpperCase()}`)
    expect(parseSha256Sum("")).toBe("")
  })
})
