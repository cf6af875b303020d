import { describe, expect, it } from "@effect/vitest"
import { gunzip, sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Record from "@homelab-mcp/core/backup/Record"
import * as Target from "@homelab-mcp/core/backup/Target"
import * as BackupStoreFs from "@homelab-mcp/transport/BackupStoreFs"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

/**
 * Runs the worker until it has stored a version, lets it run `ms` more, then SIGKILLs it. The worker is
 * node itself with the tsx loader (the tsx CLI would fork a grandchild that survives the kill).
 */
const runAndKill = (dir: string, ms: number) =>
  Effect.async<void>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "fixtures/backupCrashWorker.ts"), dir], { cwd: here, stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    let timer: NodeJS.Timeout | undefined
    child.stderr.on("data", (d) => (stderr += String(d)))
    child.stdout.on("data", (d) => {
      if (String(d).includes("ready") && timer === undefined) timer = setTimeout(() => child.kill("SIGKILL"), ms)
    })
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") resume(Effect.die(new Error(`worker ended without being killed: ${stderr}`)))
      else resume(Effect.void)
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Every record parses, every named blob exists and hashes to its name, no torn file outside tmp/. */
const verifyStore = (dir: string) => {
  const referenced = new Set<string>()
  let records = 0
  for (const key of fs.readdirSync(path.join(dir, "targets"))) {
    const files = fs.readdirSync(path.join(dir, "targets", key))
    for (const name of files) {
      const text = fs.readFileSync(path.join(dir, "targets", key, name), "utf8")
      if (name === "target.json") {
        const info = JSON.parse(text) as { descriptor: string }
        expect(Target.targetKey(info.descriptor)).toBe(key)
        continue
      }
      expect(name).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}\.json$/)
      const record = Record.decodeJson(text)
      expect(Target.targetKey(record.descriptor)).toBe(key)
      records++
      if (record.blob !== null) {
        referenced.add(record.blob)
        const blob = fs.readFileSync(path.join(dir, "blobs", record.blob.slice(0, 2), `${record.blob}.gz`))
        expect(sha256(gunzip(blob))).toBe(record.blob)
        expect(blob.length).toBe(record.storedBytes)
      }
    }
  }
  for (const prefix of fs.readdirSync(path.join(dir, "blobs"))) {
    for (const name of fs.readdirSync(path.join(dir, "blobs", prefix))) {
      expect(name).toMatch(/^[0-9a-f]{64}\.gz$/)
      const sha = name.slice(0, 64)
      expect(sha256(gunzip(fs.readFileSync(path.join(dir, "blobs", prefix, name))))).toBe(sha)
      // startup cleanup removed every blob no record names
      expect(referenced.has(sha)).toBe(true)
    }
  }
  return records
}

describe("BackupStoreFs crash safety", () => {
  it.live("SIGKILL at random points mid-store: the store reopens cleanly, every record has its blob, no torn file", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backups-crash-"))
      const delays = [5, 60, 150, 300]
      for (const ms of delays) {
        yield* runAndKill(dir, ms + Math.floor(Math.random() * 40))
        // reopening runs the startup cleanup and breaks the dead worker's lock (same host, pid gone)
        const store = yield* BackupStoreFs.make({ dir, perFileCap: 3, globalCapBytes: 150_000 })
        const records = verifyStore(dir)
        expect(records).toBeGreaterThan(0)
        // the store still works, and its newest versions restore
        const probe = Target.host(`/probe/${ms}`)
        const r = yield* store.store({ target: probe, previous: { exists: true, bytes: new Uint8Array([1, 2, 3]) }, next: new Uint8Array([4]), tool: "t", opId: "o" })
        const back = yield* store.restore(probe.descriptor, r.versionId, { status: "present", sha256: sha256(new Uint8Array([4])) })
        expect(back.state).toMatchObject({ kind: "bytes", sha256: sha256(new Uint8Array([1, 2, 3])) })
        for (const d of ["host:/etc/a", "pct:101:/etc/b", "qm:200:/etc/c"]) {
          for (const v of yield* store.versions(d)) {
            if (v.kind === "full" || v.kind === "absent") {
              const restored = yield* store.restore(d, v.versionId, { status: "unknown", reason: "not read in this test" })
              if (restored.state.kind === "bytes") expect(restored.state.sha256).toBe(v.beforeSha256)
            }
          }
        }
      }
      const leftovers = fs.readdirSync(path.join(dir, "tmp"))
      for (const name of leftovers) expect(name).toMatch(/\.tmp$/)
    }), 120_000)
})
