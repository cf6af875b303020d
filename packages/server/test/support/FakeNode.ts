/**
 * In-memory fakes of the PVE API and task follower for the server's unit tests: a tiny node with guests,
 * power actions and tasks. Any request it was not built for dies loudly (no silent default success).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { ApiForbidden, TaskFailed, type ApiError } from "@homelab-mcp/core/Errors"
import { eachVia, PveApi, type Params } from "@homelab-mcp/core/capabilities/PveApi"
import { Tasks } from "@homelab-mcp/core/capabilities/Tasks"

/** A guest in the fake node. */
export interface FakeGuest {
  vmid: number
  type: "lxc" | "qemu"
  name: string
  status: "running" | "stopped"
  tags?: string
  maxmem?: number
  maxdisk?: number
  lock?: string
}

/** The fake node's state and knobs. */
export interface FakeNode {
  readonly guests: Array<FakeGuest>
  /** Every request, `METHOD path`. */
  readonly events: Array<string>
  /** Power POSTs answer 403 (an observe token). */
  forbidPower: boolean
  /** The next task ends with this exit status instead of OK. */
  failNextTask: string | undefined
}

/** A fresh fake node: CT 100 running, CT 102 stopped, VM 200 running. */
export const makeNode = (): FakeNode => ({
  guests: [
    { vmid: 100, type: "lxc", name: "dns", status: "running", tags: "infra;dns" },
    { vmid: 102, type: "lxc", name: "lab-alpine", status: "stopped" },
    { vmid: 200, type: "qemu", name: "debian-vm", status: "running", maxmem: 4 * 2 ** 30, maxdisk: 8.5 * 2 ** 30, tags: "web" }
  ],
  events: [],
  forbidPower: false,
  failNextTask: undefined
})

const decode = <A, I>(schema: Schema.Schema<A, I>, value: unknown) => Effect.orDie(Schema.decodeUnknown(schema)(value))

const tasks = new Map<string, { ok: boolean; exitstatus: string }>()
let taskSeq = 0

const route = (node: FakeNode, method: string, path: string, _params?: Params): Effect.Effect<unknown, ApiError> => {
  node.events.push(`${method} ${path}`)
  let m: RegExpMatchArray | null
  if (method === "GET" && (m = path.match(/^\/nodes\/pve\/(lxc|qemu)$/))) {
    const type = m[1]
    return Effect.succeed(
      node.guests
        .filter((g) => g.type === type)
        .map((g) => ({
          vmid: type === "lxc" ? String(g.vmid) : g.vmid,
          name: g.name,
          status: g.status,
          ...(g.tags ? { tags: g.tags } : {}),
          ...(g.lock ? { lock: g.lock } : {}),
          ...(g.type === "qemu" ? { maxmem: g.maxmem ?? 0, maxdisk: g.maxdisk ?? 0, ...(g.status === "running" ? { pid: 4242 } : {}) } : {})
        }))
    )
  }
  if (method === "GET" && (m = path.match(/^\/nodes\/pve\/(lxc|qemu)\/(\d+)\/status\/current$/))) {
    const g = node.guests.find((x) => x.vmid === Number(m![2]) && x.type === m![1])
    if (!g) return Effect.die(new Error(`fake node: no guest at ${path}`))
    return Effect.succeed({ status: g.status })
  }
  if (method === "POST" && (m = path.match(/^\/nodes\/pve\/(lxc|qemu)\/(\d+)\/status\/(start|stop|shutdown|reboot)$/))) {
    if (node.forbidPower) {
      return Effect.fail(new ApiForbidden({ path: `/vms/${m[2]}`, privileges: [], reason: "Permission check failed" }))
    }
    const g = node.guests.find((x) => x.vmid === Number(m![2]))!
    const upid = `UPID:pve:0000${++taskSeq}:00000000:6745A000:${m[3]}:${g.vmid}:mcp@pve!mcp-operate:`
    if (node.failNextTask !== undefined) {
      tasks.set(upid, { ok: false, exitstatus: node.failNextTask })
      node.failNextTask = undefined
    } else {
      tasks.set(upid, { ok: true, exitstatus: "OK" })
      g.status = m[3] === "start" || m[3] === "reboot" ? "running" : "stopped"
    }
    return Effect.succeed(upid)
  }
  return Effect.die(new Error(`fake node: unexpected request ${method} ${path}`))
}

/** The fake PVE API over `node`. */
export const pveLayer = (node: FakeNode): Layer.Layer<PveApi> =>
  Layer.succeed(PveApi, {
    node: "pve",
    host: "127.0.0.1",
    request: (method, path, schema, params) => Effect.flatMap(route(node, method, path, params), (v) => decode(schema, v)),
    get: (path, schema, params) => Effect.flatMap(route(node, "GET", path, params), (v) => decode(schema, v)),
    post: (path, schema, params) => Effect.flatMap(route(node, "POST", path, params), (v) => decode(schema, v)),
    getEach: eachVia((path, schema) => Effect.flatMap(route(node, "GET", path, undefined), (v) => decode(schema, v))),
    postEach: eachVia((path, schema) => Effect.flatMap(route(node, "POST", path, undefined), (v) => decode(schema, v)))
  })

/** The fake task follower: tasks end immediately with their recorded status. */
export const tasksLayer: Layer.Layer<Tasks> = Layer.succeed(Tasks, {
  wait: (upid, options) =>
    Effect.gen(function* () {
      const t = tasks.get(upid)
      if (!t) return yield* Effect.die(new Error(`fake tasks: unknown UPID ${upid}`))
      if (options?.onPoll) yield* options.onPoll(10)
      if (!t.ok) return yield* new TaskFailed({ upid, exitstatus: t.exitstatus, logTail: [t.exitstatus] })
      return { upid, exitstatus: "OK", warnings: 0, durationMs: 10 }
    })
})
