/**
 * The fault store drives the SSH side through Sandbox's adapter: a `hostKey` rule on the SSH handshake
 * presents the impostor key, an `exit` rule on an argv regex replaces a command's result, and SSH
 * commands land in the event log.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import ssh2 from "ssh2"
import * as Sandbox from "../src/Sandbox.js"

interface Outcome {
  readonly fingerprint: string
  readonly stdout: string
  readonly code: number | null
}

const run = (sb: Sandbox.SandboxHandle, command: string): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const ssh = sb.ssh!
    let fingerprint = ""
    const client = new ssh2.Client()
    client
      .on("ready", () => {
        client.exec(command, (err, stream) => {
          if (err) return reject(err)
          let stdout = ""
          let code: number | null = null
          stream.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
          stream.stderr.on("data", () => undefined)
          stream.on("exit", (c: number | null) => (code = c))
          stream.on("close", () => {
            client.end()
            resolve({ fingerprint, stdout, code })
          })
        })
      })
      .on("error", (e) => (fingerprint !== "" ? resolve({ fingerprint, stdout: "", code: null }) : reject(e)))
      .connect({
        host: ssh.host,
        port: ssh.port,
        username: ssh.user,
        privateKey: Redacted.value(ssh.privateKey),
        hostVerifier: (key: Buffer) => {
          fingerprint = `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`
          return fingerprint === ssh.hostKeyFingerprint
        }
      })
  })

describe("SSH faults through the shared rule store", () => {
  it.scopedLive("hostKey impostor on one handshake, exit override by argv, events recorded", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, timeScale: 0.01 })
      const ok = yield* Effect.promise(() => run(sb, "echo hello"))
      expect(ok).toEqual({ fingerprint: sb.ssh!.hostKeyFingerprint, stdout: "hello\n", code: 0 })
      sb.control.addFault({ id: "mitm", target: { kind: "sshHandshake" }, when: { _tag: "once" }, effect: { _tag: "hostKey" } })
      const mitm = yield* Effect.promise(() => run(sb, "echo hello"))
      expect(mitm.fingerprint).toBe(sb.ssh!.impostorFingerprint)
      expect(mitm.stdout).toBe("")
      sb.control.addFault({ id: "boom", target: { kind: "ssh", argv: "^pct list" }, when: { _tag: "always" }, effect: { _tag: "exit", code: 255, stdout: "" } })
      const boom = yield* Effect.promise(() => run(sb, "pct list"))
      expect(boom.code).toBe(255)
      const events = sb.control.events()
      expect(events.some((e) => e.kind === "fault" && e.decision === "mitm")).toBe(true)
      expect(events.some((e) => e.kind === "fault" && e.decision === "boom")).toBe(true)
      expect(events.some((e) => e.kind === "ssh" && (e.argv ?? []).join(" ").includes("echo hello"))).toBe(true)
    })
  )
})
