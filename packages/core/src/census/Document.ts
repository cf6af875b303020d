/**
 * The census document of `describe_homelab` (census-health.md §1.4) as Schemas: the tool's output
 * schema and the shape saved as a snapshot. `schemaVersion` 1.
 */
import * as Schema from "effect/Schema"
import { Tier } from "../Tier.js"

/** The document's schema version; snapshots of other versions are never compared. */
export const SCHEMA_VERSION = 1 as const

/** Every census section, in document order. */
export const sectionNames = ["node", "storage", "network", "containers", "vms", "services", "tailscale"] as const
export type SectionName = (typeof sectionNames)[number]
export const SectionName = Schema.Literal(...sectionNames)

/** Census depths, shallowest first; each includes everything of the previous one. */
export const depths = ["summary", "status", "full"] as const
export type Depth = (typeof depths)[number]
export const Depth = Schema.Literal(...depths)

/** A section the tier cannot produce: a status, never an error and never "empty". */
export const Unavailable = Schema.Struct({
  unavailableAtTier: Tier,
  reason: Schema.optional(Schema.String)
})
export type Unavailable = typeof Unavailable.Type

/** True when a section value is the `Unavailable` status. */
export const isUnavailable = (v: unknown): v is Unavailable =>
  typeof v === "object" && v !== null && !Array.isArray(v) && "unavailableAtTier" in v

const Num = Schema.Number
const NullableNum = Schema.NullOr(Schema.Number)

export const ZpoolSummary = Schema.Struct({
  healthy: Schema.Boolean,
  pools: Schema.Array(Schema.Struct({ name: Schema.String, health: Schema.String, sizeBytes: NullableNum, allocBytes: NullableNum })),
  detail: Schema.String
})

export const NodeSection = Schema.Struct({
  version: Schema.NullOr(Schema.String),
  kernel: Schema.NullOr(Schema.String),
  uptime: Schema.String,
  uptimeSecs: Num,
  cpu: NullableNum,
  memBytes: NullableNum,
  memUsedBytes: NullableNum,
  load: Schema.Array(Num),
  /** `null` when the ZFS probe failed (its error is in `errors[]`). */
  zpool: Schema.NullOr(ZpoolSummary)
})
export type NodeSection = typeof NodeSection.Type

export const StorageItem = Schema.Struct({
  name: Schema.String,
  type: Schema.String,
  active: Schema.Boolean,
  enabled: Schema.Boolean,
  shared: Schema.Boolean,
  content: Schema.Array(Schema.String),
  totalBytes: NullableNum,
  usedBytes: NullableNum,
  availBytes: NullableNum
})
export type StorageItem = typeof StorageItem.Type

export const Iface = Schema.Struct({
  iface: Schema.String,
  type: Schema.String,
  active: Schema.Boolean,
  autostart: Schema.Boolean,
  cidr: Schema.optional(Schema.String),
  cidr6: Schema.optional(Schema.String),
  gateway: Schema.optional(Schema.String)
})
export type Iface = typeof Iface.Type

export const Bridge = Schema.Struct({
  name: Schema.String,
  ports: Schema.Array(Schema.String),
  vlanAware: Schema.Boolean,
  cidr: Schema.optional(Schema.String)
})
export type Bridge = typeof Bridge.Type

export const NetworkSection = Schema.Struct({ ifaces: Schema.Array(Iface), bridges: Schema.Array(Bridge) })
export type NetworkSection = typeof NetworkSection.Type

export const SnapshotCapable = Schema.Struct({ capable: Schema.Boolean, reason: Schema.optional(Schema.String) })
export type SnapshotCapable = typeof SnapshotCapable.Type

export const AgentState = Schema.Struct({
  configured: Schema.Boolean,
  running: Schema.NullOr(Schema.Boolean),
  reason: Schema.optional(Schema.String)
})
export type AgentState = typeof AgentState.Type

/** A guest; depth `status` adds the state fields, depth `full` the redacted `config` map. */
export const Guest = Schema.Struct({
  vmid: Num,
  name: Schema.String,
  status: Schema.String,
  template: Schema.optional(Schema.Boolean),
  lock: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String)),
  onboot: Schema.optional(Schema.Boolean),
  uptimeSecs: Schema.optional(Num),
  cpus: Schema.optional(NullableNum),
  maxmemBytes: Schema.optional(NullableNum),
  snapshotCapable: Schema.optional(SnapshotCapable),
  agent: Schema.optional(AgentState),
  config: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type Guest = typeof Guest.Type

export const ServiceItem = Schema.Struct({
  vmid: Num,
  failedUnits: Schema.Array(Schema.String),
  docker: Schema.Array(Schema.Struct({ name: Schema.String, image: Schema.String, status: Schema.String })),
  dockerCount: Schema.optional(Num),
  note: Schema.optional(Schema.String)
})
export type ServiceItem = typeof ServiceItem.Type

export const Tailscale = Schema.Struct(
  {
    scope: Schema.Literal("host", "container", "none"),
    self: Schema.optional(Schema.String),
    online: Schema.optional(Schema.Boolean),
    peerCount: Schema.optional(Num),
    tailnetIPs: Schema.optional(Schema.Array(Schema.String)),
    vmid: Schema.optional(Num),
    container: Schema.optional(Schema.String),
    reason: Schema.optional(Schema.String)
  }
)
export type Tailscale = typeof Tailscale.Type

export const Sections = Schema.Struct({
  node: Schema.optional(NodeSection),
  storage: Schema.optional(Schema.Array(StorageItem)),
  network: Schema.optional(NetworkSection),
  containers: Schema.optional(Schema.Array(Guest)),
  vms: Schema.optional(Schema.Array(Guest)),
  services: Schema.optional(Schema.Union(Schema.Array(ServiceItem), Unavailable)),
  tailscale: Schema.optional(Schema.Union(Tailscale, Unavailable))
})
export type Sections = { -readonly [K in keyof typeof Sections.Type]: (typeof Sections.Type)[K] }

export const ErrorEntry = Schema.Struct({ section: Schema.String, probe: Schema.String, error: Schema.String })
export type ErrorEntry = typeof ErrorEntry.Type

/** A cut: `section` is the list (or `_response` for the size cap, with `target` naming what was cut). */
export const Truncation = Schema.Struct({
  section: Schema.String,
  reason: Schema.String,
  omitted: Num,
  target: Schema.optional(Schema.String)
})
export type Truncation = typeof Truncation.Type

export const NotCompared = Schema.Struct({
  section: SectionName,
  reason: Schema.Literal("unavailable-at-tier", "not-in-baseline", "incomplete")
})
export type NotCompared = typeof NotCompared.Type

export const FieldChange = Schema.Struct({ vmid: Num, field: Schema.String, from: Schema.Unknown, to: Schema.Unknown })
export const GuestDrift = Schema.Struct({
  added: Schema.Array(Schema.Struct({ vmid: Num, name: Schema.String })),
  removed: Schema.Array(Schema.Struct({ vmid: Num, name: Schema.String })),
  changed: Schema.Array(FieldChange)
})
export type GuestDrift = typeof GuestDrift.Type
export const NamedChange = Schema.Struct({ name: Schema.String, field: Schema.String, from: Schema.Unknown, to: Schema.Unknown })
export const ListDrift = Schema.Struct({
  added: Schema.Array(Schema.String),
  removed: Schema.Array(Schema.String),
  changed: Schema.Array(NamedChange)
})
export type ListDrift = typeof ListDrift.Type
export const TailscaleDrift = Schema.Array(Schema.Struct({ field: Schema.String, from: Schema.Unknown, to: Schema.Unknown }))

export const Drift = Schema.Union(
  Schema.Struct({
    mode: Schema.Literal("seeded"),
    seededReason: Schema.Literal("no-baseline"),
    comparedTo: Schema.Null
  }),
  Schema.Struct({
    mode: Schema.Literal("compared"),
    comparedTo: Schema.String,
    containers: Schema.optional(GuestDrift),
    vms: Schema.optional(GuestDrift),
    storage: Schema.optional(ListDrift),
    network: Schema.optional(ListDrift),
    tailscale: Schema.optional(TailscaleDrift),
    notCompared: Schema.Array(NotCompared)
  })
)
export type Drift = typeof Drift.Type

/** The census document. */
export const CensusDocument = Schema.Struct({
  schemaVersion: Schema.Literal(SCHEMA_VERSION),
  ts: Schema.String,
  tier: Tier,
  host: Schema.NullOr(Schema.String),
  node: Schema.String,
  depth: Depth,
  /** The sections asked for (all when `sections` was omitted); drift compares only these. */
  requested: Schema.Array(SectionName),
  sections: Sections,
  errors: Schema.Array(ErrorEntry),
  redactions: Num,
  truncated: Schema.Boolean,
  truncations: Schema.Array(Truncation),
  incompleteSections: Schema.Array(SectionName),
  snapshotId: Schema.NullOr(Schema.String),
  drift: Schema.optional(Drift)
})
export type CensusDocument = typeof CensusDocument.Type
