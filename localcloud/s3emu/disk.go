package s3emu

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/gomlops/mlops/localcloud/statefile"
)

// diskBackend is a gofakes3 backend that keeps every object version as a
// file on disk (root/<bucket>/objects/<sha256(key)>/<version>.data) with a
// small JSON index per key, so the local cloud's S3 survives restarts and
// supports versioning. An in-memory index, rebuilt at start, answers
// listings.
type diskBackend struct {
	root string
	now  func() time.Time
	mu   sync.RWMutex
	// buckets by name
	buckets map[string]*diskBucket
	seq     uint64
}

type diskBucket struct {
	Created    time.Time                 `json:"created"`
	Versioning gofakes3.VersioningStatus `json:"versioning,omitempty"`
	objects    map[string]*diskObject
}

type diskObject struct {
	Key      string         `json:"key"`
	Versions []*diskVersion `json:"versions"` // oldest first
}

type diskVersion struct {
	ID           string            `json:"id"` // "null" for unversioned writes
	Size         int64             `json:"size"`
	MD5          string            `json:"md5"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	LastModified time.Time         `json:"lastModified"`
	DeleteMarker bool              `json:"deleteMarker,omitempty"`
}

const nullVersion = "null"

var (
	_ gofakes3.Backend          = (*diskBackend)(nil)
	_ gofakes3.VersionedBackend = (*diskBackend)(nil)
)

func newDiskBackend(root string, now func() time.Time) (*diskBackend, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create s3 state dir: %w", err)
	}
	b := &diskBackend{root: root, now: now, buckets: map[string]*diskBucket{}}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read s3 state dir: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		bk, err := b.loadBucket(e.Name())
		if err != nil {
			return nil, err
		}
		if bk != nil {
			b.buckets[e.Name()] = bk
		}
	}
	return b, nil
}

func (b *diskBackend) loadBucket(name string) (*diskBucket, error) {
	bk := &diskBucket{objects: map[string]*diskObject{}}
	found, err := statefile.Read(filepath.Join(b.root, name, "bucket.json"), bk)
	if err != nil || !found {
		return nil, err
	}
	objDir := filepath.Join(b.root, name, "objects")
	dirs, err := os.ReadDir(objDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read objects of %s: %w", name, err)
	}
	for _, d := range dirs {
		var o diskObject
		found, err := statefile.Read(filepath.Join(objDir, d.Name(), "index.json"), &o)
		if err != nil {
			return nil, fmt.Errorf("object index in bucket %s: %w", name, err)
		}
		if found && len(o.Versions) > 0 {
			bk.objects[o.Key] = &o
		}
	}
	return bk, nil
}

func (b *diskBackend) bucketDir(name string) string { return filepath.Join(b.root, name) }

func (b *diskBackend) objectDir(bucket, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(b.root, bucket, "objects", hex.EncodeToString(sum[:]))
}

func (b *diskBackend) saveBucket(name string, bk *diskBucket) error {
	if err := os.MkdirAll(filepath.Join(b.bucketDir(name), "objects"), 0o755); err != nil {
		return err
	}
	return statefile.Write(filepath.Join(b.bucketDir(name), "bucket.json"), bk)
}

// saveObject writes a key's index, or removes its directory when no
// version is left. Callers hold b.mu.
func (b *diskBackend) saveObject(bucket string, o *diskObject) error {
	dir := b.objectDir(bucket, o.Key)
	if len(o.Versions) == 0 {
		return os.RemoveAll(dir)
	}
	return statefile.Write(filepath.Join(dir, "index.json"), o)
}

// newVersionID returns a unique, time-ordered version id.
func (b *diskBackend) newVersionID() string {
	b.seq++
	return strconv.FormatInt(b.now().UnixNano(), 36) + "." + strconv.FormatUint(b.seq, 36)
}

func (b *diskBackend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]gofakes3.BucketInfo, 0, len(b.buckets))
	for name, bk := range b.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(bk.Created)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (b *diskBackend) sortedKeys(bk *diskBucket) []string {
	keys := make([]string, 0, len(bk.objects))
	for k := range bk.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (b *diskBackend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	bk, ok := b.buckets[name]
	if !ok {
		return nil, gofakes3.BucketNotFound(name)
	}
	resp := gofakes3.NewObjectList()
	var match gofakes3.PrefixMatch
	var cnt int64
	lastPrefix := ""
	// A marker that is a common prefix (the last entry of the previous
	// page) skips every key under it.
	markerIsPrefix := prefix.HasDelimiter && page.Marker != "" && strings.HasSuffix(page.Marker, prefix.Delimiter)
	for _, k := range b.sortedKeys(bk) {
		if page.Marker != "" && (k <= page.Marker || (markerIsPrefix && strings.HasPrefix(k, page.Marker))) {
			continue
		}
		cur := bk.objects[k].current()
		if cur == nil || cur.DeleteMarker || !prefix.Match(k, &match) {
			continue
		}
		if match.CommonPrefix && match.MatchedPart == lastPrefix {
			continue
		}
		if page.MaxKeys > 0 && cnt >= page.MaxKeys {
			// Another entry exists beyond this page.
			resp.IsTruncated = true
			break
		}
		if match.CommonPrefix {
			resp.AddPrefix(match.MatchedPart)
			lastPrefix = match.MatchedPart
			resp.NextMarker = match.MatchedPart
		} else {
			resp.Add(&gofakes3.Content{Key: k, LastModified: gofakes3.NewContentTime(cur.LastModified), ETag: `"` + cur.MD5 + `"`, Size: cur.Size})
			resp.NextMarker = k
		}
		cnt++
	}
	if !resp.IsTruncated {
		resp.NextMarker = ""
	}
	return resp, nil
}

func (o *diskObject) current() *diskVersion {
	if len(o.Versions) == 0 {
		return nil
	}
	return o.Versions[len(o.Versions)-1]
}

func (o *diskObject) version(id string) (*diskVersion, int) {
	for i, v := range o.Versions {
		if v.ID == id {
			return v, i
		}
	}
	return nil, -1
}

func (b *diskBackend) CreateBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.buckets[name]; ok {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	bk := &diskBucket{Created: b.now().UTC(), objects: map[string]*diskObject{}}
	if err := b.saveBucket(name, bk); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	b.buckets[name] = bk
	return nil
}

func (b *diskBackend) BucketExists(name string) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.buckets[name]
	return ok, nil
}

func (b *diskBackend) DeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.buckets[name]
	if !ok {
		return gofakes3.BucketNotFound(name)
	}
	if len(bk.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	return b.removeBucket(name)
}

func (b *diskBackend) ForceDeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.buckets[name]; !ok {
		return gofakes3.BucketNotFound(name)
	}
	return b.removeBucket(name)
}

func (b *diskBackend) removeBucket(name string) error {
	if err := os.RemoveAll(b.bucketDir(name)); err != nil {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	delete(b.buckets, name)
	return nil
}

// object returns the gofakes3 view of a version; the body is opened (and
// ranged) when withBody.
func (b *diskBackend) object(bucket, key string, v *diskVersion, versioned bool, rng *gofakes3.ObjectRangeRequest, withBody bool) (*gofakes3.Object, error) {
	hash, _ := hex.DecodeString(v.MD5)
	obj := &gofakes3.Object{Name: key, Metadata: v.Metadata, Size: v.Size, Hash: hash, IsDeleteMarker: v.DeleteMarker, Contents: noBody{}}
	if versioned && v.ID != nullVersion {
		obj.VersionID = gofakes3.VersionID(v.ID)
	}
	if !withBody || v.DeleteMarker {
		return obj, nil
	}
	r, err := rng.Range(v.Size)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(b.objectDir(bucket, key), v.ID+".data"))
	if err != nil {
		return nil, fmt.Errorf("open object %s/%s: %w", bucket, key, err)
	}
	obj.Range = r
	if r != nil {
		if _, err := f.Seek(r.Start, io.SeekStart); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("seek object %s/%s: %w", bucket, key, err)
		}
		obj.Contents = limitedFile{Reader: io.LimitReader(f, r.Length), f: f}
		return obj, nil
	}
	obj.Contents = f
	return obj, nil
}

type noBody struct{}

func (noBody) Read([]byte) (int, error) { return 0, io.EOF }
func (noBody) Close() error             { return nil }

type limitedFile struct {
	io.Reader
	f *os.File
}

func (l limitedFile) Close() error { return l.f.Close() }

func (b *diskBackend) lookup(bucket, key string) (*diskBucket, *diskObject, error) {
	bk, ok := b.buckets[bucket]
	if !ok {
		return nil, nil, gofakes3.BucketNotFound(bucket)
	}
	o, ok := bk.objects[key]
	if !ok || len(o.Versions) == 0 {
		return bk, nil, gofakes3.KeyNotFound(key)
	}
	return bk, o, nil
}

func (b *diskBackend) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	return b.getVersion(bucket, key, "", rng, true)
}

func (b *diskBackend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	return b.getVersion(bucket, key, "", nil, false)
}

func (b *diskBackend) GetObjectVersion(bucket, key string, id gofakes3.VersionID, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	return b.getVersion(bucket, key, string(id), rng, true)
}

func (b *diskBackend) HeadObjectVersion(bucket, key string, id gofakes3.VersionID) (*gofakes3.Object, error) {
	return b.getVersion(bucket, key, string(id), nil, false)
}

func (b *diskBackend) getVersion(bucket, key, id string, rng *gofakes3.ObjectRangeRequest, withBody bool) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	bk, o, err := b.lookup(bucket, key)
	if err != nil {
		return nil, err
	}
	versioned := bk.Versioning != ""
	if id == "" {
		cur := o.current()
		if cur.DeleteMarker {
			return nil, gofakes3.KeyNotFound(key)
		}
		return b.object(bucket, key, cur, versioned, rng, withBody)
	}
	v, _ := o.version(id)
	if v == nil {
		return nil, gofakes3.ErrNoSuchVersion
	}
	return b.object(bucket, key, v, versioned, rng, withBody)
}

func (b *diskBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	b.mu.RLock()
	_, ok := b.buckets[bucket]
	b.mu.RUnlock()
	if !ok {
		return gofakes3.PutObjectResult{}, gofakes3.BucketNotFound(bucket)
	}
	// Uploads land in a scratch directory first so that a concurrent
	// delete of the key's directory cannot remove them.
	scratch := filepath.Join(b.root, ".uploads")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return gofakes3.PutObjectResult{}, fmt.Errorf("create upload dir: %w", err)
	}
	tmp, err := os.CreateTemp(scratch, "upload-*")
	if err != nil {
		return gofakes3.PutObjectResult{}, fmt.Errorf("create upload file: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), input)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return gofakes3.PutObjectResult{}, fmt.Errorf("store object %s/%s: %w", bucket, key, err)
	}
	if size >= 0 && n != size {
		return gofakes3.PutObjectResult{}, gofakes3.ErrIncompleteBody
	}
	sum := h.Sum(nil)

	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.buckets[bucket]
	if !ok {
		return gofakes3.PutObjectResult{}, gofakes3.BucketNotFound(bucket)
	}
	o := bk.objects[key]
	if conditions != nil {
		info := &gofakes3.ConditionalObjectInfo{}
		if o != nil && o.current() != nil && !o.current().DeleteMarker {
			info.Exists = true
			info.Hash, _ = hex.DecodeString(o.current().MD5)
		}
		if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	if o == nil {
		o = &diskObject{Key: key}
	}
	v := &diskVersion{ID: nullVersion, Size: n, MD5: hex.EncodeToString(sum), Metadata: meta, LastModified: b.now().UTC()}
	if bk.Versioning == gofakes3.VersioningEnabled {
		v.ID = b.newVersionID()
	}
	dir := b.objectDir(bucket, key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return gofakes3.PutObjectResult{}, fmt.Errorf("create object dir: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, v.ID+".data")); err != nil {
		return gofakes3.PutObjectResult{}, fmt.Errorf("store object %s/%s: %w", bucket, key, err)
	}
	old := o.Versions
	o.Versions = replaceNull(o.Versions, v)
	if err := b.saveObject(bucket, o); err != nil {
		o.Versions = old
		return gofakes3.PutObjectResult{}, fmt.Errorf("index object %s/%s: %w", bucket, key, err)
	}
	bk.objects[key] = o
	res := gofakes3.PutObjectResult{}
	if bk.Versioning == gofakes3.VersioningEnabled {
		res.VersionID = gofakes3.VersionID(v.ID)
	}
	return res, nil
}

// replaceNull appends v, dropping an existing "null" version first when v
// is one (unversioned and suspended buckets overwrite the null version).
func replaceNull(vs []*diskVersion, v *diskVersion) []*diskVersion {
	out := make([]*diskVersion, 0, len(vs)+1)
	for _, x := range vs {
		if v.ID == nullVersion && x.ID == nullVersion {
			continue
		}
		out = append(out, x)
	}
	return append(out, v)
}

func (b *diskBackend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleteLocked(bucket, key)
}

func (b *diskBackend) deleteLocked(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	bk, ok := b.buckets[bucket]
	if !ok {
		return gofakes3.ObjectDeleteResult{}, gofakes3.BucketNotFound(bucket)
	}
	o := bk.objects[key]
	if bk.Versioning == "" {
		// Unversioned: the object goes; deleting a missing key succeeds.
		if o == nil {
			return gofakes3.ObjectDeleteResult{}, nil
		}
		delete(bk.objects, key)
		if err := os.RemoveAll(b.objectDir(bucket, key)); err != nil {
			return gofakes3.ObjectDeleteResult{}, fmt.Errorf("delete object %s/%s: %w", bucket, key, err)
		}
		return gofakes3.ObjectDeleteResult{}, nil
	}
	if o == nil {
		o = &diskObject{Key: key}
	}
	marker := &diskVersion{ID: nullVersion, DeleteMarker: true, LastModified: b.now().UTC()}
	if bk.Versioning == gofakes3.VersioningEnabled {
		marker.ID = b.newVersionID()
	}
	if err := os.MkdirAll(b.objectDir(bucket, key), 0o755); err != nil {
		return gofakes3.ObjectDeleteResult{}, fmt.Errorf("delete object %s/%s: %w", bucket, key, err)
	}
	old := o.Versions
	o.Versions = replaceNull(o.Versions, marker)
	if err := b.saveObject(bucket, o); err != nil {
		o.Versions = old
		return gofakes3.ObjectDeleteResult{}, fmt.Errorf("delete object %s/%s: %w", bucket, key, err)
	}
	bk.objects[key] = o
	res := gofakes3.ObjectDeleteResult{IsDeleteMarker: true}
	if marker.ID != nullVersion {
		res.VersionID = gofakes3.VersionID(marker.ID)
	}
	return res, nil
}

func (b *diskBackend) DeleteObjectVersion(bucket, key string, id gofakes3.VersionID) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleteVersionLocked(bucket, key, string(id))
}

func (b *diskBackend) deleteVersionLocked(bucket, key, id string) (gofakes3.ObjectDeleteResult, error) {
	bk, o, err := b.lookup(bucket, key)
	if err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	v, i := o.version(id)
	if v == nil {
		return gofakes3.ObjectDeleteResult{}, gofakes3.ErrNoSuchVersion
	}
	old := o.Versions
	o.Versions = append(append([]*diskVersion{}, old[:i]...), old[i+1:]...)
	if err := b.saveObject(bucket, o); err != nil {
		o.Versions = old
		return gofakes3.ObjectDeleteResult{}, fmt.Errorf("delete version %s/%s: %w", bucket, key, err)
	}
	if !v.DeleteMarker {
		_ = os.Remove(filepath.Join(b.objectDir(bucket, key), v.ID+".data"))
	}
	if len(o.Versions) == 0 {
		delete(bk.objects, key)
	}
	return gofakes3.ObjectDeleteResult{IsDeleteMarker: v.DeleteMarker, VersionID: gofakes3.VersionID(id)}, nil
}

func (b *diskBackend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	ids := make([]gofakes3.ObjectID, len(keys))
	for i, k := range keys {
		ids[i] = gofakes3.ObjectID{Key: k}
	}
	return b.DeleteMultiVersions(bucket, ids...)
}

func (b *diskBackend) DeleteMultiVersions(bucket string, objects ...gofakes3.ObjectID) (gofakes3.MultiDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var res gofakes3.MultiDeleteResult
	if _, ok := b.buckets[bucket]; !ok {
		return res, gofakes3.BucketNotFound(bucket)
	}
	for _, obj := range objects {
		var err error
		var dr gofakes3.ObjectDeleteResult
		if obj.VersionID != "" {
			dr, err = b.deleteVersionLocked(bucket, obj.Key, obj.VersionID)
		} else {
			dr, err = b.deleteLocked(bucket, obj.Key)
		}
		if err != nil {
			res.Error = append(res.Error, gofakes3.ErrorResultFromError(err))
			continue
		}
		id := obj
		if obj.VersionID == "" && dr.VersionID != "" {
			// Report the delete marker's version like S3 does.
			id.VersionID = string(dr.VersionID)
		}
		res.Deleted = append(res.Deleted, id)
	}
	return res, nil
}

func (b *diskBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	src, err := b.GetObject(srcBucket, srcKey, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer src.Contents.Close()
	// Read fully first: source and destination may be the same file.
	body, err := io.ReadAll(src.Contents)
	if err != nil {
		return gofakes3.CopyObjectResult{}, fmt.Errorf("read copy source: %w", err)
	}
	if _, err := b.PutObject(dstBucket, dstKey, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: `"` + hex.EncodeToString(src.Hash) + `"`, LastModified: gofakes3.NewContentTime(b.now())}, nil
}

func (b *diskBackend) VersioningConfiguration(bucket string) (gofakes3.VersioningConfiguration, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	bk, ok := b.buckets[bucket]
	if !ok {
		return gofakes3.VersioningConfiguration{}, gofakes3.BucketNotFound(bucket)
	}
	return gofakes3.VersioningConfiguration{Status: bk.Versioning}, nil
}

func (b *diskBackend) SetVersioningConfiguration(bucket string, v gofakes3.VersioningConfiguration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.buckets[bucket]
	if !ok {
		return gofakes3.BucketNotFound(bucket)
	}
	old := bk.Versioning
	bk.Versioning = v.Status
	if err := b.saveBucket(bucket, bk); err != nil {
		bk.Versioning = old
		return fmt.Errorf("set versioning of %s: %w", bucket, err)
	}
	return nil
}

func (b *diskBackend) ListBucketVersions(bucket string, prefix *gofakes3.Prefix, page *gofakes3.ListBucketVersionsPage) (*gofakes3.ListBucketVersionsResult, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	if page == nil {
		page = &gofakes3.ListBucketVersionsPage{}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	result := gofakes3.NewListBucketVersionsResult(bucket, prefix, page)
	bk, ok := b.buckets[bucket]
	if !ok {
		return result, gofakes3.BucketNotFound(bucket)
	}
	var match gofakes3.PrefixMatch
	var cnt int64
	var lastKey string
	var lastID gofakes3.VersionID
	for _, k := range b.sortedKeys(bk) {
		if page.KeyMarker != "" && (k < page.KeyMarker || (k == page.KeyMarker && page.VersionIDMarker == "")) {
			continue
		}
		if !prefix.Match(k, &match) {
			continue
		}
		if match.CommonPrefix {
			result.AddPrefix(match.MatchedPart)
			continue
		}
		o := bk.objects[k]
		// Within the marker key, skip versions up to the marker version.
		skipping := k == page.KeyMarker && page.VersionIDMarker != ""
		for i := len(o.Versions) - 1; i >= 0; i-- {
			v := o.Versions[i]
			if skipping {
				if v.ID == string(page.VersionIDMarker) {
					skipping = false
				}
				continue
			}
			if page.MaxKeys > 0 && cnt >= page.MaxKeys {
				result.IsTruncated = true
				result.NextKeyMarker, result.NextVersionIDMarker = lastKey, lastID
				return result, nil
			}
			latest := i == len(o.Versions)-1
			id := gofakes3.VersionID(v.ID)
			if v.DeleteMarker {
				result.Versions = append(result.Versions, &gofakes3.DeleteMarker{Key: k, VersionID: id, IsLatest: latest, LastModified: gofakes3.NewContentTime(v.LastModified)})
			} else {
				result.Versions = append(result.Versions, &gofakes3.Version{Key: k, VersionID: id, IsLatest: latest, LastModified: gofakes3.NewContentTime(v.LastModified),
					Size: v.Size, ETag: `"` + v.MD5 + `"`, StorageClass: "STANDARD"})
			}
			lastKey, lastID = k, id
			cnt++
		}
	}
	return result, nil
}
