import { describe, expect, it } from "@effect/vitest"
import * as SnapshotCapable from "@homelab-mcp/core/census/SnapshotCapable"
import * as F from "./fixtures.js"

const types = new Map(F.storage.map((s) => [s.storage, s.type]))

describe("snapshotCapable", () => {
  it("CT 101 (GPU passthrough, raw device rule, host bind mount) cannot snapshot, with every reason", () => {
    const r = SnapshotCapable.snapshotCapable(F.configs["lxc/101"]!, types)
    expect(r.capable).toBe(false)
    expect(r.reason).toContain("device passthrough (dev0: /dev/dri/renderD128)")
    expect(r.reason).toContain("host bind mount (mp0: /tank/media)")
    expect(r.reason).toContain("raw device rule (lxc.cgroup2.devices.allow)")
  })
  it("a plain CT on lvmthin and the VM with an agent can snapshot", () => {
    expect(SnapshotCapable.snapshotCapable(F.configs["lxc/100"]!, types)).toEqual({ capable: true })
    expect(SnapshotCapable.snapshotCapable(F.configs["qemu/200"]!, types)).toEqual({ capable: true })
  })
  it("a root disk on dir storage cannot snapshot; cdrom and cloudinit drives are not the root disk", () => {
    expect(SnapshotCapable.snapshotCapable(F.configs["lxc/102"]!, types)).toEqual({ capable: false, reason: "root disk rootfs on dir storage local" })
    const vm = { ide0: "local-lvm:vm-300-cloudinit,media=cdrom", ide2: "none,media=cdrom", sata0: "local:300/vm-300-disk-0.qcow2,size=8G" }
    expect(SnapshotCapable.rootDiskKey(vm)).toBe("sata0")
    expect(SnapshotCapable.snapshotCapable(vm, types).capable).toBe(false)
  })
  it("PCI, host USB, raw /dev mounts and templates", () => {
    expect(SnapshotCapable.snapshotCapable({ hostpci0: "0000:01:00.0", scsi0: "local-lvm:x,size=1G" }, types).reason).toBe("PCI passthrough (hostpci0)")
    expect(SnapshotCapable.snapshotCapable({ usb0: "host=1234:5678" }, types).reason).toBe("host USB passthrough (usb0)")
    expect(SnapshotCapable.snapshotCapable({ usb0: "spice" }, types)).toEqual({ capable: true })
    expect(SnapshotCapable.snapshotCapable({ lxc: [["lxc.mount.entry", "/dev/net dev/net none bind,create=dir"]] }, types).reason).toBe(
      "raw device mount (lxc.mount.entry)"
    )
    expect(SnapshotCapable.snapshotCapable({ template: 1 }, types).reason).toBe("it is a template")
    expect(SnapshotCapable.snapshotCapable({ mp0: "local-lvm:vm-1-disk-1,mp=/data" }, types)).toEqual({ capable: true })
  })
  it("labels for drift, and the agent flag forms", () => {
    expect(SnapshotCapable.label({ capable: true })).toBe("capable")
    expect(SnapshotCapable.label({ capable: false, reason: "x" })).toBe("incapable (x)")
    expect(SnapshotCapable.agentConfigured({ agent: "1" })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: 1 })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: "enabled=1,fstrim_cloned_disks=1" })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: "1,fstrim_cloned_disks=1" })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: "0" })).toBe(false)
    expect(SnapshotCapable.agentConfigured({ agent: "enabled=0" })).toBe(false)
    expect(SnapshotCapable.agentConfigured({})).toBe(false)
  })
})
