/**
 * Setup's auto mode logs in as root with a password: the sandbox accepts one only when `sshPassword` is
 * set, and then only that password; key authentication keeps working beside it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import ssh2 from "ssh2"
import * as Sandbox from "../src/Sandbox.js"

const tryPassword = (host: string, port: number, password: string) =>
  new Promise<string>((resolve) => {
    const client = new ssh2.Client()
    client
      .on("ready", () => {
        client.end()
        resolve("ready")
      })
      .on("error", (e: Error & { level?: string }) => resolve(e.level ?? e.message))
      .connect({ host, port, username: "root", password, readyTimeout: 5000 })
  })

describe("Sandbox sshPassword", () => {
  it.scopedLive("password login works only with the configured password, and not at all by default", () =>
    Effect.gen(function* () {
      const withPw = yield* Sandbox.make({ authFailureDelay: 0, sshPassword: "lab-root-pw" })
      const plain = yield* Sandbox.make({ authFailureDelay: 0 })
      expect(yield* Effect.promise(() => tryPassword(withPw.ssh!.host, withPw.ssh!.port, "lab-root-pw"))).toBe("ready")
      expect(yield* Effect.promise(() => tryPassword(withPw.ssh!.host, withPw.ssh!.port, "wrong"))).toBe("client-authentication")
      expect(yield* Effect.promise(() => tryPassword(plain.ssh!.host, plain.ssh!.port, "lab-root-pw"))).toBe("client-authentication")
    })
  )
})
