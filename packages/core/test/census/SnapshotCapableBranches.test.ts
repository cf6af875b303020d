/**
 * Snapshot capability on the less common config shapes (census-health.md §1.2): `volume=`-keyed mount
 * points, key=value device specs, raw `lxc` lines that are malformed, root disks that are host paths or
 * unreadable, and duplicate reasons.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SnapshotCapable from "@homelab-mcp/core/census/SnapshotCapable"

const types: ReadonlyMap<string, string> = new Map([
  ["local", "dir"],
  ["local-lvm", "lvmthin"],
  ["tank", "zfspool"]
])

describe("snapshotCapable: mount points and devices", () => {
  it("an mpN written with an explicit volume= key that is a host path is a host bind mount", () => {
    expect(SnapshotCapable.snapshotCapable({ mp0: "volume=/tank/data,mp=/data", rootfs: "tank:subvol-101-disk-0" }, types)).toEqual({
      capable: false,
      reason: "host bind mount (mp0: /tank/data)"
    })
    // volume= naming a storage volume is not a bind mount
    expect(SnapshotCapable.snapshotCapable({ mp1: "volume=tank:subvol-101-disk-1,mp=/srv", rootfs: "tank:subvol-101-disk-0" }, types)).toEqual({
      capable: true
    })
  })

  it("a devN given as key=value options is reported with its whole spec (no bare path to show)", () => {
    expect(SnapshotCapable.snapshotCapable({ dev0: "path=/dev/ttyUSB0,mode=0660" }, types)).toEqual({
      capable: false,
      reason: "device passthrough (dev0: path=/dev/ttyUSB0,mode=0660)"
    })
  })

  it("only numeric suffixes count: devices, hostpci and mp keys with other suffixes are ignored", () => {
    expect(SnapshotCapable.snapshotCapable({ devx: "/dev/a", hostpci: "0000:01:00.0", mpa: "/host/path,mp=/x", device: "/dev/b" }, types)).toEqual({
      capable: true
    })
  })

  it("USB redirected to SPICE (host=spice) is not host passthrough; a host=bus-port is", () => {
    expect(SnapshotCapable.snapshotCapable({ usb0: "host=spice,usb3=1" }, types)).toEqual({ capable: true })
    expect(SnapshotCapable.snapshotCapable({ usb1: "host=1-1.2" }, types)).toEqual({ capable: false, reason: "host USB passthrough (usb1)" })
  })

  it("the same reason twice is reported once; the template reason comes first", () => {
    const r = SnapshotCapable.snapshotCapable({ template: "1", hostpci0: "0000:01:00.0" }, types, true)
    expect(r).toEqual({ capable: false, reason: "it is a template; PCI passthrough (hostpci0)" })
  })

  it("several reasons are joined with '; ' in key order", () => {
    const r = SnapshotCapable.snapshotCapable({ usb0: "host=1234:5678", hostpci0: "0000:01:00.0", dev0: "/dev/dri/card0" }, types)
    expect(r.reason).toBe("device passthrough (dev0: /dev/dri/card0); PCI passthrough (hostpci0); host USB passthrough (usb0)")
  })
})

describe("snapshotCapable: raw lxc lines", () => {
  it("cgroup v1 device rules count like cgroup v2 ones", () => {
    expect(SnapshotCapable.snapshotCapable({ lxc: [["lxc.cgroup.devices.allow", "c 189:* rwm"]] }, types)).toEqual({
      capable: false,
      reason: "raw device rule (lxc.cgroup.devices.allow)"
    })
  })

  it("malformed lines (not pairs, empty, missing value) and bind mounts outside /dev are ignored", () => {
    const cfg = {
      rootfs: "local-lvm:vm-101-disk-0",
      lxc: ["lxc.cgroup2.devices.allow: a", [], ["lxc.mount.entry"], ["lxc.mount.entry", "/tank/media media none bind,create=dir"], ["lxc.apparmor.profile", "unconfined"]]
    }
    expect(SnapshotCapable.snapshotCapable(cfg, types)).toEqual({ capable: true })
  })

  it("an lxc value that is not a list is ignored", () => {
    expect(SnapshotCapable.snapshotCapable({ lxc: "lxc.cgroup2.devices.allow = a" }, types)).toEqual({ capable: true })
  })
})

describe("rootDiskKey and the dir-storage rule", () => {
  it("a drive set to 'none' is skipped like a cdrom", () => {
    expect(SnapshotCapable.rootDiskKey({ ide0: "none", ide1: "local:100/vm-100-disk-0.qcow2" })).toBe("ide1")
  })

  it("bus order (scsi, virtio, sata, ide) wins over index, and indexes compare numerically", () => {
    expect(SnapshotCapable.rootDiskKey({ ide0: "local:a", virtio3: "local:b", sata0: "local:c" })).toBe("virtio3")
    expect(SnapshotCapable.rootDiskKey({ scsi10: "local:a", scsi2: "local-lvm:b" })).toBe("scsi2")
    expect(SnapshotCapable.rootDiskKey({ scsihw: "virtio-scsi-single", scsi: "local:x" })).toBeNull()
  })

  it("a root disk on dir storage is found on any bus; on another type of storage it is fine", () => {
    expect(SnapshotCapable.snapshotCapable({ ide2: "local:iso/debian.iso,media=cdrom", virtio0: "local:100/vm-100-disk-0.qcow2" }, types)).toEqual({
      capable: false,
      reason: "root disk virtio0 on dir storage local"
    })
    expect(SnapshotCapable.snapshotCapable({ sata0: "local-lvm:vm-100-cloudinit", scsi0: "tank:vm-100-disk-0", scsi1: "local:100/data.raw" }, types)).toEqual({
      capable: true
    })
  })

  it("a root disk on a storage id that is unknown to the storage list is not judged dir", () => {
    expect(SnapshotCapable.snapshotCapable({ rootfs: "gone:subvol-1-disk-0,size=8G" }, types)).toEqual({ capable: true })
  })

  it("a root disk that is a host path or has no storage prefix never produces a dir-storage reason", () => {
    // the block-device root disk is disk passthrough, never mistaken for a storage named "/dev/…"
    expect(SnapshotCapable.snapshotCapable({ scsi0: "/dev/disk/by-id/ata-DISK1,size=100G", mp0: "/tank/x,mp=/x" }, types)).toEqual({
      capable: false,
      reason: "host bind mount (mp0: /tank/x); disk passthrough (scsi0: /dev/disk/by-id/ata-DISK1)"
    })
    expect(SnapshotCapable.snapshotCapable({ scsi0: "vm-100-disk-0,size=8G", hostpci0: "0000:02:00.0" }, types).reason).toBe("PCI passthrough (hostpci0)")
  })

  it("a disk key whose value is not a string (null) is still the root disk and is not judged", () => {
    expect(SnapshotCapable.rootDiskKey({ scsi0: null, ide0: "local:100/x.raw" })).toBe("scsi0")
    expect(SnapshotCapable.snapshotCapable({ scsi0: null, ide0: "local:100/x.raw" }, types)).toEqual({ capable: true })
  })
})

describe("label and agentConfigured", () => {
  it("an incapable state without a reason is labelled 'unknown'", () => {
    expect(SnapshotCapable.label({ capable: false })).toBe("incapable (unknown)")
  })

  it("enabled=1 may appear after other options; a bare 1 only counts as the first option", () => {
    expect(SnapshotCapable.agentConfigured({ agent: "type=virtio,enabled=1" })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: " 1 ,fstrim_cloned_disks=1" })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: "fstrim_cloned_disks=1,1" })).toBe(false)
  })
})

describe("snapshotCapable: property strings in any order (PVE's default keys)", () => {
  it("the volume may come after other options, as volume= (LXC) or file= (QEMU)", () => {
    expect(SnapshotCapable.snapshotCapable({ mp0: "mp=/data,volume=/tank/data", rootfs: "tank:subvol-101-disk-0" }, types)).toEqual({
      capable: false,
      reason: "host bind mount (mp0: /tank/data)"
    })
    expect(SnapshotCapable.snapshotCapable({ rootfs: "size=8G,volume=local:101/vm-101-disk-0.raw" }, types)).toEqual({
      capable: false,
      reason: "root disk rootfs on dir storage local"
    })
    expect(SnapshotCapable.snapshotCapable({ scsi0: "file=local:100/vm-100-disk-0.qcow2,size=8G" }, types)).toEqual({
      capable: false,
      reason: "root disk scsi0 on dir storage local"
    })
    expect(SnapshotCapable.snapshotCapable({ scsi0: "size=32G,file=local-lvm:vm-100-disk-0" }, types)).toEqual({ capable: true })
  })

  it("usbN: a bare device or port is host (the default key), and so is a resource mapping; spice is not", () => {
    expect(SnapshotCapable.snapshotCapable({ usb0: "1234:5678,usb3=1" }, types)).toEqual({ capable: false, reason: "host USB passthrough (usb0)" })
    expect(SnapshotCapable.snapshotCapable({ usb0: "mapping=coral-tpu" }, types)).toEqual({ capable: false, reason: "host USB passthrough (usb0)" })
    expect(SnapshotCapable.snapshotCapable({ usb0: "spice,usb3=1" }, types)).toEqual({ capable: true })
    expect(SnapshotCapable.snapshotCapable({ usb0: "usb3=1" }, types)).toEqual({ capable: true })
  })
})

describe("snapshotCapable: VM disks that are host block devices", () => {
  it("a scsi/virtio/sata/ide disk given as /dev/… is disk passthrough, root or not; a storage volume is not", () => {
    expect(SnapshotCapable.snapshotCapable({ scsi0: "local-lvm:vm-100-disk-0,size=32G", scsi1: "/dev/disk/by-id/ata-WDC_WD40,backup=0" }, types)).toEqual({
      capable: false,
      reason: "disk passthrough (scsi1: /dev/disk/by-id/ata-WDC_WD40)"
    })
    expect(SnapshotCapable.snapshotCapable({ virtio0: "file=/dev/sdb" }, types)).toEqual({ capable: false, reason: "disk passthrough (virtio0: /dev/sdb)" })
    expect(SnapshotCapable.snapshotCapable({ sata0: "tank:vm-100-disk-1" }, types)).toEqual({ capable: true })
  })
})
