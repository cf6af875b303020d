import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { buildLab } from "../src/lab/Lab.js"
import { ROOT } from "../src/state/types.js"

const manual = () => buildLab({ seed: 1, clock: "manual" })

describe("LabState", () => {
  it("a start task runs for its virtual duration, then the guest is running", () => {
    const lab = manual()
    const task = Either.getOrThrow(lab.startGuest(9001, { userid: "mcp@pve", tokenid: "mcp-operate" }))
    expect(task.upid).toMatch(/^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzstart:9001:mcp@pve!mcp-operate:$/)
    expect(lab.getTask(task.upid)?.status).toBe("running")
    expect(lab.getGuest(9001)?.status).toBe("stopped")
    lab.advance(2)
    expect(lab.getTask(task.upid)).toMatchObject({ status: "stopped", exitstatus: "OK" })
    expect(lab.getGuest(9001)?.status).toBe("running")
    expect(lab.getTask(task.upid)?.log.at(-1)).toBe("TASK OK")
    expect(lab.journals.get("host")?.filter((e) => e.message.includes(task.upid)).map((e) => e.message)).toEqual([
      `<mcp@pve!mcp-operate> starting task ${task.upid}`,
      `<mcp@pve!mcp-operate> end task ${task.upid} OK`
    ])
  })

  it("up-front checks fail at once with Proxmox's text", () => {
    const lab = manual()
    expect(Either.getLeft(lab.startGuest(100)).pipe((o) => o._tag === "Some" && o.value.message)).toBe("CT 100 already running")
    expect(Either.getLeft(lab.stopGuest(102)).pipe((o) => o._tag === "Some" && o.value.message)).toBe("CT 102 not running")
    expect(Either.getLeft(lab.startGuest(999)).pipe((o) => o._tag === "Some" && o.value.message)).toBe(
      "Configuration file 'nodes/pve/lxc/999.conf' does not exist"
    )
  })

  it("QEMU start on a running VM fails in the task", () => {
    const lab = manual()
    const task = Either.getOrThrow(lab.startGuest(200))
    lab.advance(3)
    expect(lab.getTask(task.upid)?.exitstatus).toBe("VM 200 already running")
    expect(lab.getTask(task.upid)?.log.at(-1)).toBe("TASK ERROR: VM 200 already running")
  })

  it("snapshot create / delete / rollback keep the parent tree", () => {
    const lab = manual()
    const t1 = Either.getOrThrow(lab.createSnapshot(100, "third", ROOT, { description: "x" }))
    expect(lab.getGuest(100)?.config["lock"]).toBe("snapshot")
    expect(lab.getGuest(100)?.snapshots.get("third")?.snapstate).toBe("prepare")
    lab.advance(2)
    expect(lab.getTask(t1.upid)?.exitstatus).toBe("OK")
    const g = lab.getGuest(100)!
    expect(g.config["parent"]).toBe("third")
    expect(g.snapshots.get("third")?.parent).toBe("post-upgrade")
    expect(g.config["lock"]).toBeUndefined()
    const dup = Either.getOrThrow(lab.createSnapshot(100, "third"))
    lab.advance(1)
    expect(lab.getTask(dup.upid)?.exitstatus).toBe("snapshot name 'third' already used")
    const del = Either.getOrThrow(lab.deleteSnapshot(100, "post-upgrade"))
    lab.advance(1)
    expect(lab.getTask(del.upid)?.exitstatus).toBe("OK")
    expect(g.snapshots.get("third")?.parent).toBe("pre-upgrade")
    const rb = Either.getOrThrow(lab.rollbackSnapshot(100, "pre-upgrade"))
    lab.advance(3)
    expect(lab.getTask(rb.upid)?.exitstatus).toBe("OK")
    expect(g.config["parent"]).toBe("pre-upgrade")
    expect(g.snapshots.has("third")).toBe(true)
    const missing = Either.getOrThrow(lab.deleteSnapshot(100, "nope"))
    lab.advance(1)
    expect(lab.getTask(missing.upid)?.exitstatus).toBe("snapshot 'nope' does not exist")
  })

  it("passthrough CT 101 and dir-backed VM 201 cannot snapshot", () => {
    const lab = manual()
    const a = Either.getOrThrow(lab.createSnapshot(101, "s1"))
    const b = Either.getOrThrow(lab.createSnapshot(201, "s1"))
    lab.advance(1)
    expect(lab.getTask(a.upid)?.exitstatus).toBe("snapshot feature is not available")
    expect(lab.getTask(b.upid)?.exitstatus).toBe("snapshot feature is not available")
    expect(lab.getGuest(101)?.snapshots.size).toBe(0)
    expect(lab.getGuest(101)?.config["lock"]).toBeUndefined()
  })

  it("a taskFail fault fails the task and leaves the guest unchanged", () => {
    const lab = manual()
    lab.faults.add({ id: "f", target: { kind: "task", type: "vzstart" }, when: { _tag: "once" }, effect: { _tag: "taskFail", exitstatus: "startup for container '9001' failed" } })
    const t = Either.getOrThrow(lab.startGuest(9001))
    lab.advance(5)
    expect(lab.getTask(t.upid)?.exitstatus).toBe("startup for container '9001' failed")
    expect(lab.getGuest(9001)?.status).toBe("stopped")
    const t2 = Either.getOrThrow(lab.startGuest(9001))
    lab.advance(5)
    expect(lab.getTask(t2.upid)?.exitstatus).toBe("OK")
  })

  it("taskStall keeps a task running; taskWarnings finishes it with WARNINGS; locks refuse lifecycle", () => {
    const lab = manual()
    lab.faults.add({ id: "stall", target: { kind: "task", type: "vzsnapshot" }, when: { _tag: "once" }, effect: { _tag: "taskStall" } })
    lab.faults.add({ id: "warn", target: { kind: "task", type: "qmstart" }, when: { _tag: "once" }, effect: { _tag: "taskWarnings", count: 2 } })
    const stalled = Either.getOrThrow(lab.createSnapshot(100, "slow"))
    lab.advance(3600)
    expect(lab.getTask(stalled.upid)?.status).toBe("running")
    expect(lab.getGuest(100)?.config["lock"]).toBe("snapshot")
    expect(Either.getLeft(lab.stopGuest(100)).pipe((o) => o._tag === "Some" && o.value.message)).toBe("CT is locked (snapshot)")
    expect(lab.stopTask(stalled.upid)).toBe(true)
    expect(lab.getTask(stalled.upid)?.exitstatus).toBe("interrupted by signal")
    expect(lab.getGuest(100)?.config["lock"]).toBeUndefined()
    expect(lab.getGuest(100)?.snapshots.has("slow")).toBe(false)
    const warned = Either.getOrThrow(lab.startGuest(9000))
    lab.advance(3)
    expect(lab.getTask(warned.upid)).toMatchObject({ exitstatus: "WARNINGS: 2" })
    expect(lab.getTask(warned.upid)?.log.at(-1)).toBe("TASK WARNINGS: 2")
    expect(lab.getGuest(9000)?.status).toBe("running")
  })

  it("the config digest is SHA-1 of the rendered text and follows every change, also in place", () => {
    const lab = manual()
    const g = lab.getGuest(100)!
    const sha1 = (text: string) => createHash("sha1").update(text).digest("hex")
    const check = () => {
      const digest = lab.configDigest(g)
      expect(digest).toBe(sha1(lab.renderConfig(g)))
      expect(lab.configDigest(g)).toBe(digest)
      return digest
    }
    let previous = check()
    const changes: ReadonlyArray<() => void> = [
      () => void (g.config["cores"] = "7"),
      () => void (g.config["lock"] = "backup"),
      () => void delete g.config["lock"],
      () => void g.rawLxc.push(["lxc.apparmor.profile", "unconfined"]),
      () => void (g.rawLxc[g.rawLxc.length - 1]![1] = "generated"),
      () => void (g.snapshots.get("pre-upgrade")!.description = "changed in place"),
      () => void (g.snapshots.get("pre-upgrade")!.config["memory"] = "4096"),
      () => void g.snapshots.delete("pre-upgrade")
    ]
    for (const change of changes) {
      change()
      const digest = check()
      expect(digest).not.toBe(previous)
      previous = digest
    }
    // a value changed and changed back: the digest of that state again
    g.config["cores"] = "1"
    expect(check()).not.toBe(previous)
    g.config["cores"] = "7"
    expect(check()).toBe(previous)
  })

  it("renders .conf as pmxcfs holds it and parses writes back", () => {
    const lab = manual()
    const g = lab.getGuest(100)!
    const text = lab.renderConfig(g)
    expect(text.split("\n").slice(0, 3)).toEqual(["#AdGuard Home", "#admin%3A $2y$10$Qm4nS0bL7uV2pZ1xW9eYfOcJk3hT8rA6dG5sN0mB1vC2xE4yH7iKu", "arch: amd64"])
    expect(text).toContain("\n[pre-upgrade]\n")
    const digest = lab.configDigest(g)
    Either.getOrThrow(lab.writeConfigText(100, text.replace("cores: 1", "cores: 2")))
    expect(g.config["cores"]).toBe("2")
    expect(g.config["description"]).toBe("AdGuard Home\nadmin: $2y$10$Qm4nS0bL7uV2pZ1xW9eYfOcJk3hT8rA6dG5sN0mB1vC2xE4yH7iKu")
    expect(lab.configDigest(g)).not.toBe(digest)
    Either.getOrThrow(lab.writeConfigText(100, lab.renderConfig(g)))
    expect(lab.renderConfig(g)).toBe(text.replace("cores: 1", "cores: 2"))
    const raw = lab.renderConfig(lab.getGuest(101)!)
    expect(raw).toContain("dev0: /dev/dri/renderD128,gid=104\n")
    expect(raw.trimEnd().split("\n").at(-1)).toBe("lxc.cgroup2.devices.allow: c 226:128 rwm")
  })

  it("awaitTask completes on the real clock under timeScale", () =>
    Effect.gen(function* () {
      const lab = buildLab({ seed: 1, timeScale: 0.001 })
      const t = Either.getOrThrow(lab.startGuest(9000))
      const done = yield* lab.awaitTask(t.upid)
      expect(done.exitstatus).toBe("OK")
      expect(lab.getGuest(9000)?.status).toBe("running")
    }).pipe(Effect.runPromise))

  it("resolves privilege separation as an intersection", () => {
    const lab = manual()
    expect([...lab.permissions("mcp@pve!mcp-observe", "/vms/100").keys()]).not.toContain("VM.PowerMgmt")
    expect(lab.permissions("mcp@pve!mcp-operate", "/vms/100").get("VM.PowerMgmt")).toBe(1)
    expect(lab.permissions("test@pve!bare", "/").size).toBe(0)
    expect(lab.permissions("old@pve!legacy", "/").size).toBe(0)
  })

  it("the generator is deterministic and fast", () => {
    const t0 = performance.now()
    const a = buildLab({ seed: 42, guests: 500 })
    const elapsed = performance.now() - t0
    expect(a.guests.size).toBe(500)
    expect(buildLab({ seed: 42, guests: 500 }).exportState()).toBe(a.exportState())
    expect(buildLab({ seed: 43, guests: 500 }).exportState()).not.toBe(a.exportState())
    expect(elapsed).toBeLessThan(2000)
  })
})
