/**
 * Decoding of the two guest list endpoints (`GET /nodes/{node}/lxc`, `GET /nodes/{node}/qemu`) shared by
 * the list tools and the guest precheck. Tolerant of the extra fields Proxmox sends.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ApiError } from "@homelab-mcp/core/Errors"
import { apiPath, PveApi } from "@homelab-mcp/core/capabilities/PveApi"

/** A vmid as Proxmox sends it: an integer, sometimes as a string. */
const VmidField = Schema.Union(Schema.Int, Schema.compose(Schema.NumberFromString, Schema.Int))

/** A PVE boolean: 0/1, sometimes a string or a JSON boolean. */
const PveBool = Schema.Union(Schema.Boolean, Schema.Number, Schema.String)

/** One row of `GET /nodes/{node}/lxc`. */
export const LxcRow = Schema.Struct({
  vmid: VmidField,
  name: Schema.optional(Schema.String),
  status: Schema.String,
  lock: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.String),
  template: Schema.optional(PveBool)
})
/** A decoded lxc row. */
export type LxcRow = typeof LxcRow.Type

/** One row of `GET /nodes/{node}/qemu`. */
export const QemuRow = Schema.Struct({
  vmid: VmidField,
  name: Schema.optional(Schema.String),
  status: Schema.String,
  maxmem: Schema.optional(Schema.Number),
  maxdisk: Schema.optional(Schema.Number),
  pid: Schema.optional(Schema.Union(Schema.Number, Schema.NumberFromString)),
  lock: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.String),
  template: Schema.optional(PveBool)
})
/** A decoded qemu row. */
export type QemuRow = typeof QemuRow.Type

/** `tags` split on `;` (Proxmox also accepts `,` and spaces), empties dropped. */
export const splitTags = (tags: string | undefined): ReadonlyArray<string> =>
  tags === undefined ? [] : tags.split(/[;, ]+/).filter((t) => t.length > 0)

/** A PVE boolean as a JS boolean. */
export const pveTrue = (v: boolean | number | string | undefined): boolean =>
  v === true || v === 1 || v === "1" || v === "true"

/** Reads the container list of the node. */
export const listLxc: Effect.Effect<ReadonlyArray<LxcRow>, ApiError, PveApi> = Effect.flatMap(PveApi, (api) =>
  api.get(apiPath("nodes", api.node, "lxc"), Schema.Array(LxcRow))
)

/** Reads the VM list of the node. */
export const listQemu: Effect.Effect<ReadonlyArray<QemuRow>, ApiError, PveApi> = Effect.flatMap(PveApi, (api) =>
  api.get(apiPath("nodes", api.node, "qemu"), Schema.Array(QemuRow))
)
