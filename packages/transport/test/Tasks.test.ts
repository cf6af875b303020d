import { describe, expect, it } from "@effect/vitest"
import { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { Progress } from "@homelab-mcp/core/capabilities/Progress"
import { Tasks } from "@homelab-mcp/core/capabilities/Tasks"
import { ApiUnreachable, type ApiError } from "@homelab-mcp/core/Errors"
import * as TasksLive from "@homelab-mcp/transport/Tasks"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"

const UPID = "UPID:pve2:000A1B2C:0012D687:67000000:vzstart:100:mcp@pve!mcp-operate:"
const statusPath = `/nodes/pve2/tasks/${encodeURIComponent(UPID)}/status`
const logPath = `/nodes/pve2/tasks/${encodeURIComponent(UPID)}/log`

/** A fake client that answers only the given paths, in order, and dies on anything else. */
const fakeApi = (script: Record<string, Array<unknown | ApiError>>) => {
  const calls: Array<{ path: string; params: unknown }> = []
  const get = (path: string, schema: Schema.Schema<any, any>, params?: unknown) =>
    Effect.suspend(() => {
      calls.push({ path, params })
      const queue = script[path]
      if (!queue || queue.length === 0) return Effect.die(new Error(`unexpected request GET ${path}`))
      const next = queue.length > 1 ? queue.shift() : queue[0]
      if (next instanceof ApiUnreachable) return Effect.fail(next)
      return Schema.decodeUnknown(schema)(next).pipe(Effect.orDie)
    })
  const service: PveApi.Service = {
    node: "pve",
    host: "h",
    request: (method, path) => Effect.die(new Error(`unexpected request ${method} ${path}`)),
    get,
    post: (path) => Effect.die(new Error(`unexpected request POST ${path}`)),
    getEach: (paths) => Effect.die(new Error(`unexpected batch GET ${paths.join(", ")}`)),
    postEach: (paths) => Effect.die(new Error(`unexpected batch POST ${paths.join(", ")}`))
  }
  return { layer: Layer.succeed(PveApi, service), calls }
}

const running = { status: "running" }
const stopped = (exitstatus: string) => ({ status: "stopped", exitstatus })

const withTasks = <A, E, R>(fake: ReturnType<typeof fakeApi>, f: Effect.Effect<A, E, R>, options?: TasksLive.Options) =>
  Effect.provide(f, TasksLive.layer(options ?? { pollIntervalMs: 1000, timeoutMs: 10_000 }).pipe(Layer.provide(fake.layer)))

describe("Tasks.wait", () => {
  it.effect("polls until stopped; OK succeeds with the duration; onPoll gets the elapsed time; node from the UPID", () =>
    Effect.gen(function* () {
      const fake = fakeApi({ [statusPath]: [running, running, stopped("OK")] })
      const polls: Array<number> = []
      const fiber = yield* Effect.fork(
        withTasks(fake, Effect.flatMap(Tasks, (t) => t.wait(UPID, { onPoll: (ms) => Effect.sync(() => polls.push(ms)) })))
      )
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      const outcome = yield* Fiber.join(fiber)
      expect(outcome).toEqual({ upid: UPID, exitstatus: "OK", warnings: 0, durationMs: 2000 })
      expect(polls).toEqual([0, 1000])
      expect(fake.calls.map((c) => c.path)).toEqual([statusPath, statusPath, statusPath])
    }))

  it.effect("WARNINGS: n succeeds with the warning count", () =>
    Effect.gen(function* () {
      const fake = fakeApi({ [statusPath]: [stopped("WARNINGS: 3")] })
      const outcome = yield* withTasks(fake, Effect.flatMap(Tasks, (t) => t.wait(UPID)))
      expect(outcome).toMatchObject({ exitstatus: "WARNINGS: 3", warnings: 3 })
    }))

  it.effect("any other exit status is TaskFailed with the last 20 log lines, redacted", () =>
    Effect.gen(function* () {
      const lines = Array.from({ length: 30 }, (_, i) => ({ n: i + 1, t: `line ${i + 1}` }))
      lines[27] = { n: 28, t: "curl -u admin:hunter2 https://x" }
      lines.push({ n: 31, t: "TASK ERROR: command 'lxc-start -n 100' failed: exit code 1" })
      const fake = fakeApi({
        [statusPath]: [stopped("command 'lxc-start -n 100' failed: exit code 1")],
        [logPath]: [lines]
      })
      const error = yield* Effect.flip(withTasks(fake, Effect.flatMap(Tasks, (t) => t.wait(UPID))))
      expect(error._tag).toBe("TaskFailed")
      if (error._tag !== "TaskFailed") return
      expect(error.exitstatus).toBe("command 'lxc-start -n 100' failed: exit code 1")
      expect(error.logTail).toHaveLength(20)
      expect(error.logTail[0]).toBe("line 12")
      expect(error.logTail.at(-1)).toBe("TASK ERROR: command 'lxc-start -n 100' failed: exit code 1")
      expect(error.logTail.join("\n")).not.toContain("hunter2")
      expect(fake.calls.at(-1)).toEqual({ path: logPath, params: { start: 0, limit: 10000 } })
    }))

  it.effect("an unreadable log still reports TaskFailed (empty tail)", () =>
    Effect.gen(function* () {
      const fake = fakeApi({ [statusPath]: [stopped("interrupted by signal")], [logPath]: [new ApiUnreachable({ reason: "x" })] })
      const error = yield* Effect.flip(withTasks(fake, Effect.flatMap(Tasks, (t) => t.wait(UPID))))
      expect(error).toMatchObject({ _tag: "TaskFailed", exitstatus: "interrupted by signal", logTail: [] })
    }))

  it.effect("still running at the deadline is TaskTimeout (per-call override)", () =>
    Effect.gen(function* () {
      const fake = fakeApi({ [statusPath]: [running] })
      const fiber = yield* Effect.fork(withTasks(fake, Effect.flatMap(Tasks, (t) => t.wait(UPID, { timeoutMs: 5000 }))))
      yield* TestClock.adjust("6 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "TaskTimeout", upid: UPID, waitedMs: 5000 })
      expect(error.message).toContain("may still complete")
      expect(fake.calls.length).toBe(6)
    }))

  it.effect("API errors of a poll propagate", () =>
    Effect.gen(function* () {
      const fake = fakeApi({ [statusPath]: [new ApiUnreachable({ reason: "gone" })] })
      const error = yield* Effect.flip(withTasks(fake, Effect.flatMap(Tasks, (t) => t.wait(UPID))))
      expect(error._tag).toBe("ApiUnreachable")
    }))

  it.effect("waitWithProgress sends one progress notification per running poll", () =>
    Effect.gen(function* () {
      const fake = fakeApi({ [statusPath]: [running, running, running, stopped("OK")] })
      const reports: Array<[number, number | undefined, string]> = []
      const progress = Layer.succeed(Progress, { report: (p, t, m) => Effect.sync(() => reports.push([p, t, m])) })
      const fiber = yield* Effect.fork(
        withTasks(fake, TasksLive.waitWithProgress(UPID, "Starting CT 100", { timeoutMs: 60_000 })).pipe(Effect.provide(progress))
      )
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(fiber)
      expect(reports).toEqual([
        [0, 60, "Starting CT 100: task running, 0 s"],
        [1, 60, "Starting CT 100: task running, 1 s"],
        [2, 60, "Starting CT 100: task running, 2 s"]
      ])
    }))
})

describe("Tasks config", () => {
  it.effect("reads PVE_TASK_POLL_INTERVAL_MS and PVE_TASK_TIMEOUT_MS with defaults, rejects malformed values", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        Effect.withConfigProvider(TasksLive.config, ConfigProvider.fromMap(new Map(Object.entries(env))))
      expect(yield* read({})).toEqual({ pollIntervalMs: 1000, timeoutMs: 300000 })
      expect(yield* read({ PVE_TASK_POLL_INTERVAL_MS: "50", PVE_TASK_TIMEOUT_MS: "2000" })).toEqual({ pollIntervalMs: 50, timeoutMs: 2000 })
      const bad = yield* Effect.flip(read({ PVE_TASK_TIMEOUT_MS: "5m" }))
      expect(String(bad)).toContain("PVE_TASK_TIMEOUT_MS")
    }))
  it("parses exit statuses and UPID nodes", () => {
    expect(TasksLive.parseExitStatus("OK")).toBe(0)
    expect(TasksLive.parseExitStatus("WARNINGS: 12")).toBe(12)
    expect(TasksLive.parseExitStatus("WARNINGS: x")).toBeUndefined()
    expect(TasksLive.parseExitStatus("unexpected status")).toBeUndefined()
    expect(TasksLive.nodeOfUpid(UPID)).toBe("pve2")
    expect(TasksLive.nodeOfUpid("garbage")).toBeUndefined()
  })
})
