/**
 * `GuestFiles.pctReadState` against the sandbox's SSH server: one `pct exec … sh -c` resolves, stats and
 * streams a container file; absent, parent-missing, directory, over-limit, symlinked and binary cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import * as GuestFilesLive from "../src/GuestFiles.js"
import * as NodeShellLive from "../src/NodeShell.js"
import * as Ssh from "../src/Ssh.js"

let scope: Scope.CloseableScope
let runtime: ManagedRuntime.ManagedRuntime<GuestFiles, unknown>

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  const sb = await Effect.runPromise(Scope.extend(Sandbox.make({ seed: 1, timeScale: 1, authFailureDelay: 0 }), scope))
  const ssh = sb.ssh!
  runtime = ManagedRuntime.make(
    GuestFilesLive.layerWithNode(sb.api.node).pipe(
      Layer.provideMerge(NodeShellLive.layerFromSsh),
      Layer.provide(Ssh.layer({ host: ssh.host, port: ssh.port, user: ssh.user, privateKey: ssh.privateKeyPem, hostKeyFingerprint: ssh.hostKeyFingerprint }))
    )
  )
})

afterAll(async () => {
  await runtime?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const files = <A, E>(f: (s: GuestFiles.Service) => Effect.Effect<A, E>) => runtime.runPromise(Effect.flatMap(GuestFiles, f))

describe("GuestFiles.pctReadState", () => {
  it("streams a regular file with its stat in one call, and follows symlinks", async () => {
    const binary = new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256))
    await files((f) => f.pctWrite(100, "/root/state.bin", binary, { mode: "600", uid: 0, gid: 0 }))
    const state = await files((f) => f.pctReadState(100, "/root/state.bin", { maxBytes: 1 << 20 }))
    expect(Option.getOrNull(state.resolved)).toBe("/root/state.bin")
    const file = Option.getOrThrow(state.file)
    expect(file.stat).toMatchObject({ type: "file", size: 4096, mode: "600", uid: 0, gid: 0 })
    expect(Buffer.from(file.content!).equals(Buffer.from(binary))).toBe(true)
    const viaLink = await files((f) => f.pctReadState(100, "/etc/os-release", { maxBytes: 1 << 20 }))
    expect(Option.getOrThrow(viaLink.file).stat.type).toBe("file")
  })

  it("tells absent, parent-missing, directory and over-limit apart", async () => {
    const absent = await files((f) => f.pctReadState(100, "/root/no-such-file", { maxBytes: 1024 }))
    expect(absent).toEqual({ resolved: Option.some("/root/no-such-file"), file: Option.none() })
    const orphan = await files((f) => f.pctReadState(100, "/no/such/dir/file", { maxBytes: 1024 }))
    expect(Option.isNone(orphan.resolved)).toBe(true)
    const dir = await files((f) => f.pctReadState(100, "/etc", { maxBytes: 1024 }))
    expect(Option.getOrThrow(dir.file)).toMatchObject({ stat: { type: "directory" }, content: null })
    await files((f) => f.pctWrite(100, "/root/big.txt", new Uint8Array(5000).fill(120), { mode: "644", uid: 0, gid: 0 }))
    const big = await files((f) => f.pctReadState(100, "/root/big.txt", { maxBytes: 100 }))
    expect(Option.getOrThrow(big.file)).toMatchObject({ stat: { size: 5000 }, content: null })
  })

  it("a stopped container is GuestNotRunning", async () => {
    const exit = await runtime.runPromiseExit(Effect.flatMap(GuestFiles, (f) => f.pctReadState(102, "/etc/hosts", { maxBytes: 1024 })))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("GuestNotRunning")
  })
})
