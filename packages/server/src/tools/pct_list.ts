/**
 * `pct_list` (tools.md §3): the node's LXC containers from `GET /nodes/{node}/lxc`, sorted by vmid.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import { listLxc, pveTrue, splitTags } from "../internal/PveLists.js"

/** One container in the list. */
export const Container = Schema.Struct({
  vmid: Schema.Int,
  name: Schema.String,
  status: Schema.String,
  lock: Schema.optional(Schema.String),
  tags: Schema.Array(Schema.String),
  template: Schema.Boolean
})

/** Output of `pct_list`. */
export const Output = Schema.Struct({ count: Schema.Int, containers: Schema.Array(Container) })

/** Input of `pct_list`: no parameters. */
export const Input = Schema.Struct({})

/** Lists the containers by vmid; `vmid` is an integer even when Proxmox sends a string. */
export const pct_list = Tool.make(
  {
    name: "pct_list",
    title: "List LXC containers",
    description:
      "Lists the LXC containers on the Proxmox node (vmid, name, status, lock, tags, template), sorted by vmid. Read-only, over the API.",
    tier: "observe",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  () =>
    Effect.map(listLxc, (rows) => {
      const containers = [...rows]
        .sort((a, b) => a.vmid - b.vmid)
        .map((r) => ({
          vmid: r.vmid,
          name: r.name ?? "",
          status: r.status,
          ...(r.lock !== undefined && r.lock !== "" ? { lock: r.lock } : {}),
          tags: splitTags(r.tags),
          template: pveTrue(r.template)
        }))
      return { count: containers.length, containers }
    })
)
