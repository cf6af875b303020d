/**
 * `qm_list` (tools.md §3): the node's QEMU VMs from `GET /nodes/{node}/qemu`, sorted by vmid.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import { listQemu, pveTrue, splitTags } from "../internal/PveLists.js"

/** One VM in the list. */
export const Vm = Schema.Struct({
  vmid: Schema.Int,
  name: Schema.String,
  status: Schema.String,
  memMB: Schema.Number,
  bootDiskGB: Schema.Number,
  pid: Schema.optional(Schema.Int),
  lock: Schema.optional(Schema.String),
  tags: Schema.Array(Schema.String),
  template: Schema.Boolean
})

/** Output of `qm_list`. */
export const Output = Schema.Struct({ count: Schema.Int, vms: Schema.Array(Vm) })

/** Input of `qm_list`: no parameters. */
export const Input = Schema.Struct({})

/** `maxdisk / 2^30` to two decimals, kept fractional (3.00 → 3, 8.50 → 8.5). */
export const bootDiskGB = (maxdisk: number | undefined): number => Math.round(((maxdisk ?? 0) / 2 ** 30) * 100) / 100

/** `maxmem / 2^20`, rounded to a whole MiB. */
export const memMB = (maxmem: number | undefined): number => Math.round((maxmem ?? 0) / 2 ** 20)

/** Lists the VMs by vmid; `pid` only for running VMs. */
export const qm_list = Tool.make(
  {
    name: "qm_list",
    title: "List QEMU VMs",
    description:
      "Lists the QEMU virtual machines on the Proxmox node (vmid, name, status, memMB, bootDiskGB, pid when running, lock, tags, template), sorted by vmid. Read-only, over the API.",
    tier: "observe",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  () =>
    Effect.map(listQemu, (rows) => {
      const vms = [...rows]
        .sort((a, b) => a.vmid - b.vmid)
        .map((r) => ({
          vmid: r.vmid,
          name: r.name ?? "",
          status: r.status,
          memMB: memMB(r.maxmem),
          bootDiskGB: bootDiskGB(r.maxdisk),
          ...(r.status === "running" && r.pid !== undefined ? { pid: Math.trunc(r.pid) } : {}),
          ...(r.lock !== undefined && r.lock !== "" ? { lock: r.lock } : {}),
          tags: splitTags(r.tags),
          template: pveTrue(r.template)
        }))
      return { count: vms.length, vms }
    })
)
