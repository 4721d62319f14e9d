package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// newServerAPI builds the REST client of one DittoFS server for the server
// state controller.
//
// pkg/dfsapi on this branch declares the API but has no client yet; until
// dfsapi.New is merged this returns a client whose every call fails with
// errNoRESTClient, so the controller reports ServerUnreachable with that
// message instead of acting. The merge replaces the body with
// dfsapi.New(baseURL, dfsapi.WithTransport(rt), dfsapi.WithUserAgent(version.UserAgent())).
func newServerAPI(baseURL string, rt http.RoundTripper) dfsapi.API {
	return noClient{}
}

var errNoRESTClient = errors.New("this build has no DittoFS REST client (pkg/dfsapi.New)")

type noClient struct{}

func (noClient) Login(context.Context, string, string) error { return errNoRESTClient }
func (noClient) ListMetadataStores(context.Context) ([]dfsapi.Store, error) {
	return nil, errNoRESTClient
}
func (noClient) CreateMetadataStore(context.Context, dfsapi.Store) error { return errNoRESTClient }
func (noClient) UpdateMetadataStore(context.Context, dfsapi.Store) error { return errNoRESTClient }
func (noClient) DeleteMetadataStore(context.Context, string) error       { return errNoRESTClient }
func (noClient) ListBlockStores(context.Context, dfsapi.BlockKind) ([]dfsapi.Store, error) {
	return nil, errNoRESTClient
}
func (noClient) CreateBlockStore(context.Context, dfsapi.BlockKind, dfsapi.Store) error {
	return errNoRESTClient
}
func (noClient) UpdateBlockStore(context.Context, dfsapi.BlockKind, dfsapi.Store) error {
	return errNoRESTClient
}
func (noClient) DeleteBlockStore(context.Context, dfsapi.BlockKind, string) error {
	return errNoRESTClient
}
func (noClient) ListUsers(context.Context) ([]dfsapi.User, error)      { return nil, errNoRESTClient }
func (noClient) CreateUser(context.Context, dfsapi.User, string) error { return errNoRESTClient }
func (noClient) UpdateUser(context.Context, dfsapi.User) error         { return errNoRESTClient }
func (noClient) SetUserPassword(context.Context, string, string) error { return errNoRESTClient }
func (noClient) DeleteUser(context.Context, string) error              { return errNoRESTClient }
func (noClient) ListGroups(context.Context) ([]dfsapi.Group, error)    { return nil, errNoRESTClient }
func (noClient) CreateGroup(context.Context, dfsapi.Group) error       { return errNoRESTClient }
func (noClient) DeleteGroup(context.Context, string) error             { return errNoRESTClient }
func (noClient) ListShares(context.Context) ([]dfsapi.Share, error)    { return nil, errNoRESTClient }
func (noClient) CreateShare(context.Context, dfsapi.Share) error       { return errNoRESTClient }
func (noClient) UpdateShare(context.Context, dfsapi.Share) error       { return errNoRESTClient }
func (noClient) DeleteShare(context.Context, string) error             { return errNoRESTClient }
func (noClient) ListSharePermissions(context.Context, string) ([]dfsapi.Permission, error) {
	return nil, errNoRESTClient
}
func (noClient) SetSharePermission(context.Context, string, dfsapi.Permission) error {
	return errNoRESTClient
}
func (noClient) DeleteSharePermission(context.Context, string, dfsapi.Permission) error {
	return errNoRESTClient
}
