package csidriver

import (
	"context"
	"fmt"
	"os"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// defaultCapacity is a volume's capacity when the request names none.
const defaultCapacity = 1 << 30

// ControllerGetCapabilities: volumes, clones, snapshots and expansion; no
// attach (ControllerPublish), so no VolumeAttachment is needed.
func (d *Driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// checkCapabilities accepts mount volumes of any access mode; the driver has
// no block devices.
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	for _, c := range caps {
		if c.GetAccessMode() == nil {
			return status.Error(codes.InvalidArgument, "access mode is required")
		}
		if c.GetMount() == nil {
			return status.Error(codes.InvalidArgument, "only mount volumes are supported")
		}
	}
	return nil
}

func capacityOf(r *csi.CapacityRange) (int64, error) {
	req, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || limit < 0 || (limit > 0 && req > limit) {
		return 0, status.Errorf(codes.OutOfRange, "capacity range %d..%d is invalid", req, limit)
	}
	switch {
	case req > 0:
		return req, nil
	case limit > 0 && limit < defaultCapacity:
		return limit, nil
	}
	return defaultCapacity, nil
}

// CreateVolume makes a directory, empty or copied from a snapshot or a
// volume. A retry with the same name returns the same volume.
func (d *Driver) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	capacity, err := capacityOf(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := idFor("vol-", req.GetName())
	existing, err := d.store.volume(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if existing != nil {
		if existing.Capacity != capacity {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists with capacity %d", req.GetName(), existing.Capacity)
		}
		return &csi.CreateVolumeResponse{Volume: existing.csi(req.GetVolumeContentSource())}, nil
	}
	v := &volume{ID: id, Name: req.GetName(), Capacity: capacity}
	if err := d.fillVolume(v, req.GetVolumeContentSource()); err != nil {
		return nil, err
	}
	if err := d.store.save(volumesDir, id, v); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateVolumeResponse{Volume: v.csi(req.GetVolumeContentSource())}, nil
}

// fillVolume creates the volume's directory from its content source.
func (d *Driver) fillVolume(v *volume, src *csi.VolumeContentSource) error {
	dst := d.store.dir(volumesDir, v.ID)
	// A directory without a record is what a crash in a copy left behind.
	if err := os.RemoveAll(dst); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	var from string
	switch {
	case src.GetSnapshot() != nil:
		sn, err := d.store.snapshot(src.GetSnapshot().GetSnapshotId())
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		if sn == nil {
			return status.Errorf(codes.NotFound, "snapshot %q not found", src.GetSnapshot().GetSnapshotId())
		}
		if sn.Size > v.Capacity {
			return status.Errorf(codes.OutOfRange, "snapshot %q needs %d bytes, volume has %d", sn.ID, sn.Size, v.Capacity)
		}
		v.SourceSnapshot, from = sn.ID, d.store.dir(snapshotsDir, sn.ID)
	case src.GetVolume() != nil:
		sv, err := d.store.volume(src.GetVolume().GetVolumeId())
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		if sv == nil {
			return status.Errorf(codes.NotFound, "volume %q not found", src.GetVolume().GetVolumeId())
		}
		if sv.Capacity > v.Capacity {
			return status.Errorf(codes.OutOfRange, "volume %q needs %d bytes, clone has %d", sv.ID, sv.Capacity, v.Capacity)
		}
		v.SourceVolume, from = sv.ID, d.store.dir(volumesDir, sv.ID)
	}
	if from == "" {
		if err := os.Mkdir(dst, 0o777); err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		// A fresh volume is writable by any user, like a new ext4 root with fsGroup.
		if err := os.Chmod(dst, 0o777); err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		return nil
	}
	if err := copyTree(from, dst); err != nil {
		return status.Errorf(codes.Internal, "copy %s: %v", from, err)
	}
	return nil
}

func (v *volume) csi(src *csi.VolumeContentSource) *csi.Volume {
	return &csi.Volume{VolumeId: v.ID, CapacityBytes: v.Capacity, ContentSource: src}
}

// DeleteVolume removes the directory; a volume that is gone is deleted.
func (d *Driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if !validID(req.GetVolumeId()) {
		return &csi.DeleteVolumeResponse{}, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.remove(volumesDir, req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// ValidateVolumeCapabilities confirms mount capabilities of an existing volume.
func (d *Driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	d.mu.Lock()
	v, err := d.store.volume(req.GetVolumeId())
	d.mu.Unlock()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", req.GetVolumeId())
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// ControllerExpandVolume records a larger capacity; a directory has no size
// to grow, and nothing is needed on the node.
func (d *Driver) ControllerExpandVolume(_ context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID is required")
	}
	if req.GetCapacityRange() == nil {
		return nil, status.Error(codes.InvalidArgument, "capacity range is required")
	}
	capacity, err := capacityOf(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.store.volume(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", req.GetVolumeId())
	}
	if capacity > v.Capacity {
		v.Capacity = capacity
		if err := d.store.save(volumesDir, v.ID, v); err != nil {
			return nil, status.Error(codes.Internal, fmt.Sprintf("record %s: %v", v.ID, err))
		}
	}
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: v.Capacity}, nil
}
