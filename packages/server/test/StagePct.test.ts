/**
 * `Targets.stagePct` (ADR 0097): when the caller's scope closes while the upload made ahead is still
 * creating its node temp file or sending bytes, the upload stops first and its temp file is removed
 * after, so no byte lands in a file after its removal; a finished staging is removed once.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as GuestFilesLive from "@homelab-mcp/transport/GuestFiles"
import * as Targets from "../src/internal/Targets.js"

/** A NodeShell whose temp file's create takes 10 ms and its upload two 5 ms packets (virtual time), logging their steps. */
const slowShell = () => {
  const log: Array<string> = []
  const live = new Set<string>()
  let n = 0
  const unexpected = () => Effect.dieMessage("not used here")
  const service = NodeShell.of({
    exec: unexpected,
    execScript: unexpected,
    output: unexpected,
    outputBytes: unexpected,
    readFile: unexpected,
    fileSize: unexpected,
    tempFile: unexpected(),
    writeFile: unexpected,
    // the exclusive create takes 10 ms and cannot be interrupted; then two packets of 5 ms, where a packet
    // already sent lands even if the upload is interrupted meanwhile (as SFTP writes in flight do), and
    // landing (re)creates the file
    uploadTemp: (content) =>
      Effect.tap(
        Effect.acquireRelease(
          Effect.sleep("10 millis").pipe(
            Effect.map(() => {
              const p = `/tmp/mcp.S${++n}`
              live.add(p)
              log.push(`create ${p}`)
              return p
            })
          ),
          (p) => Effect.sync(() => {
            live.delete(p)
            log.push(`unlink ${p}`)
          })
        ),
        (p) =>
          Effect.forEach([0, 1], (i) =>
            Effect.uninterruptible(
              Effect.sleep("5 millis").pipe(
                Effect.map(() => {
                  live.add(p)
                  log.push(`upload ${p} ${content.length} #${i}`)
                })
              )
            ), { discard: true })
      )
  })
  const layer = GuestFilesLive.layerWithNode("pve").pipe(Layer.provide(Layer.succeed(NodeShell, service)))
  return { log, live, layer }
}

describe("Targets.stagePct", () => {
  for (const closeAfterMs of [0, 5, 12, 17]) {
    it.effect(`a scope closed ${closeAfterMs} ms into the staging leaves no temp file and uploads nothing after the removal`, () => {
      const shell = slowShell()
      return Effect.gen(function* () {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const wait = yield* Targets.stagePct(new Uint8Array(3))
            expect(Effect.isEffect(wait)).toBe(true)
            yield* TestClock.adjust(`${closeAfterMs} millis`)
          })
        ).pipe(Effect.fork, Effect.tap(() => TestClock.adjust("100 millis")), Effect.flatMap((f) => f.await))
        expect(shell.live.size).toBe(0)
        const unlink = shell.log.findIndex((l) => l.startsWith("unlink "))
        if (unlink >= 0) expect(shell.log.slice(unlink + 1).filter((l) => l.startsWith("upload "))).toEqual([])
        // the temp file is created under any close (its create cannot be interrupted) and always removed
        expect(shell.log.filter((l) => l.startsWith("unlink ")).length).toBe(shell.log.filter((l) => l.startsWith("create ")).length)
      }).pipe(Effect.provide(shell.layer))
    })
  }

  it.effect("a finished staging is joined with its node path and removed once when the scope closes", () => {
    const shell = slowShell()
    return Effect.gen(function* () {
      const staged = yield* Effect.scoped(
        Effect.gen(function* () {
          const wait = yield* Targets.stagePct(new Uint8Array(5))
          const fiber = yield* Effect.fork(wait)
          yield* TestClock.adjust("50 millis")
          return yield* fiber.await.pipe(Effect.flatten)
        })
      )
      expect(staged.nodePath).toBe("/tmp/mcp.S1")
      expect(shell.log).toEqual(["create /tmp/mcp.S1", "upload /tmp/mcp.S1 5 #0", "upload /tmp/mcp.S1 5 #1", "unlink /tmp/mcp.S1"])
      expect(shell.live.size).toBe(0)
    }).pipe(Effect.provide(shell.layer))
  })
})
