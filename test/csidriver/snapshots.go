package csidriver

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The parameters csi-snapshotter --extra-create-metadata adds.
const (
	paramSnapshotName      = "csi.storage.k8s.io/volumesnapshot/name"
	paramSnapshotNamespace = "csi.storage.k8s.io/volumesnapshot/namespace"
)

// injectedFailure says whether the request must fail, and why.
func (d *Driver) injectedFailure(req *csi.CreateSnapshotRequest) (string, bool) {
	p := req.GetParameters()
	if p[FailParameter] == "true" {
		return "the VolumeSnapshotClass sets " + FailParameter, true
	}
	if re := d.cfg.FailSnapshots; re != nil {
		if ns, name := p[paramSnapshotNamespace], p[paramSnapshotName]; name != "" && re.MatchString(ns+"/"+name) {
			return "VolumeSnapshot " + ns + "/" + name + " matches " + re.String(), true
		}
		if re.MatchString(req.GetName()) {
			return "snapshot " + req.GetName() + " matches " + re.String(), true
		}
	}
	return "", false
}

// CreateSnapshot copies the source volume's directory. A retry with the same
// name returns the same snapshot; ready at once.
func (d *Driver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume ID is required")
	}
	if why, fail := d.injectedFailure(req); fail {
		return nil, status.Error(codes.FailedPrecondition, "injected failure: "+why)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := idFor("snap-", req.GetName())
	existing, err := d.store.snapshot(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if existing != nil {
		if existing.SourceVolume != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists of volume %q", req.GetName(), existing.SourceVolume)
		}
		return &csi.CreateSnapshotResponse{Snapshot: existing.csi()}, nil
	}
	src, err := d.store.volume(req.GetSourceVolumeId())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if src == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", req.GetSourceVolumeId())
	}
	dst := d.store.dir(snapshotsDir, id)
	if err := os.RemoveAll(dst); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := copyTree(d.store.dir(volumesDir, src.ID), dst); err != nil {
		return nil, status.Errorf(codes.Internal, "copy volume %s: %v", src.ID, err)
	}
	// The size is the source's capacity: Kubernetes reads it as the
	// snapshot's restoreSize, the smallest volume it can be restored into.
	sn := &snapshot{ID: id, Name: req.GetName(), SourceVolume: src.ID, Size: src.Capacity, Created: time.Now().UTC()}
	if err := d.store.save(snapshotsDir, id, sn); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateSnapshotResponse{Snapshot: sn.csi()}, nil
}

func (s *snapshot) csi() *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     s.ID,
		SourceVolumeId: s.SourceVolume,
		SizeBytes:      s.Size,
		CreationTime:   timestamppb.New(s.Created),
		ReadyToUse:     true,
	}
}

// DeleteSnapshot removes the copy; a snapshot that is gone is deleted.
func (d *Driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot ID is required")
	}
	if !validID(req.GetSnapshotId()) {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.remove(snapshotsDir, req.GetSnapshotId()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots lists snapshots oldest first, filtered by ID or source
// volume, in pages whose token is the index of the next entry.
func (d *Driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	d.mu.Lock()
	all, err := d.store.snapshots()
	d.mu.Unlock()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	var match []*snapshot
	for _, sn := range all {
		if (req.GetSnapshotId() == "" || sn.ID == req.GetSnapshotId()) &&
			(req.GetSourceVolumeId() == "" || sn.SourceVolume == req.GetSourceVolumeId()) {
			match = append(match, sn)
		}
	}
	start := 0
	if tok := req.GetStartingToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(match) {
			return nil, status.Errorf(codes.Aborted, "starting token %q is not valid", tok)
		}
		start = n
	}
	end := len(match)
	if m := int(req.GetMaxEntries()); m > 0 && start+m < end {
		end = start + m
	}
	resp := &csi.ListSnapshotsResponse{}
	for _, sn := range match[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: sn.csi()})
	}
	if end < len(match) {
		resp.NextToken = strconv.Itoa(end)
	}
	return resp, nil
}
