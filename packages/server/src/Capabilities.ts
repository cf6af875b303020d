/**
 * The capability set of each tier (architecture.md): what its closed Layer provides, plus the
 * per-request services the MCP adapter provides to every call. Strict supersets, lowest first.
 */
import type { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import type { CensusStore } from "@homelab-mcp/core/capabilities/CensusStore"
import type { ServerInfo } from "@homelab-mcp/core/capabilities/ServerInfo"
import type { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import type { Confirm } from "@homelab-mcp/core/capabilities/Confirm"
import type { GuestExec } from "@homelab-mcp/core/capabilities/GuestExec"
import type { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import type { HostFiles } from "@homelab-mcp/core/capabilities/HostFiles"
import type { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import type { Progress } from "@homelab-mcp/core/capabilities/Progress"
import type { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import type { Tasks } from "@homelab-mcp/core/capabilities/Tasks"
import type { Limits } from "./Limits.js"
import type { RollbackBreaker } from "./RollbackBreaker.js"

/** Provided per MCP request (the confirm gate and progress notifications), at every tier. */
export type RequestCaps = Confirm | Progress

/** Observe: the PVE API (PVEAuditor token), the local audit log, the census store and the server identity. */
export type ObserveLayerCaps = PveApi | AuditLog | CensusStore | ServerInfo
/** Operate adds task following for power actions. */
export type OperateLayerCaps = ObserveLayerCaps | Tasks
/**
 * Companion adds the SSH-backed capabilities, the backup store, its limits and the rollback breaker.
 * Config history (`ConfigHistory`) joins when its Layer lands; until then writes report
 * `historyCommitted:false`.
 */
export type CompanionLayerCaps =
  | OperateLayerCaps
  | NodeShell
  | GuestExec
  | GuestFiles
  | BackupStore
  | Limits
  | RollbackBreaker
/** Root adds host files. */
export type RootLayerCaps = CompanionLayerCaps | HostFiles

/** What an observe tool may require. */
export type ObserveCaps = ObserveLayerCaps | RequestCaps
/** What an operate tool may require. */
export type OperateCaps = OperateLayerCaps | RequestCaps
/** What a companion tool may require. */
export type CompanionCaps = CompanionLayerCaps | RequestCaps
/** What a root tool may require. */
export type RootCaps = RootLayerCaps | RequestCaps
