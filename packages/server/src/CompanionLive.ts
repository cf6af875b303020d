/**
 * The companion tier's closed Layer (architecture.md): the operate tier plus one pinned SSH connection
 * and the capabilities built on it (node shell, guest exec, guest files), the backup store, the
 * companion limits and the rollback breaker. Loaded lazily: observe and operate never build an SSH
 * client, a key or a backup writer.
 */
import * as Layer from "effect/Layer"
import * as BackupStoreFs from "@homelab-mcp/transport/BackupStoreFs"
import * as GuestExecLive from "@homelab-mcp/transport/GuestExec"
import * as GuestFilesLive from "@homelab-mcp/transport/GuestFiles"
import * as NodeShellLive from "@homelab-mcp/transport/NodeShell"
import * as Ssh from "@homelab-mcp/transport/Ssh"
import type { CompanionLayerCaps } from "./Capabilities.js"
import * as Limits from "./Limits.js"
import * as RollbackBreaker from "./RollbackBreaker.js"
import { OperateLive, type StartupError, type TierIdentity } from "./tiers.js"

/** The companion tier: operate + SSH-backed capabilities + backups + limits + breaker; closed. */
export const CompanionLive = (identity: TierIdentity): Layer.Layer<CompanionLayerCaps, StartupError> => {
  const operate = OperateLive(identity)
  const ssh = Layer.mergeAll(GuestExecLive.layerFromSsh, GuestFilesLive.layerFromSsh).pipe(
    Layer.provideMerge(NodeShellLive.layerFromSsh),
    Layer.provide(Ssh.layerConfig)
  )
  const local = RollbackBreaker.layer.pipe(Layer.provideMerge(Limits.layerConfig), Layer.provideMerge(BackupStoreFs.layerConfig()))
  return Layer.mergeAll(ssh, local).pipe(Layer.provideMerge(operate))
}
