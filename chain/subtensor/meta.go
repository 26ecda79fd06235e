package subtensor

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"
)

// runtimeMeta is the part of a runtime's metadata the client needs: call
// indices, the transaction extension list, storage defaults, error names
// and the type registry to walk events. state_getMetadata returns V14 on
// every subtensor runtime, which go-substrate-rpc-client decodes.
type runtimeMeta struct {
	md         *types.Metadata
	extensions []extension
}

// extension is one transaction extension in the order the runtime lists
// them: what it adds to the extrinsic (extra) and to the signed payload
// only (implicit).
type extension struct {
	name          string
	extraEmpty    bool
	implicitEmpty bool
}

// parseMetadata parses state_getMetadata's result (V14).
func parseMetadata(hexMeta string) (*runtimeMeta, error) {
	var md types.Metadata
	if err := codec.DecodeFromHex(hexMeta, &md); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	if md.Version != 14 {
		return nil, fmt.Errorf("metadata version %d: want 14", md.Version)
	}
	m := &runtimeMeta{md: &md}
	m.loadExtensions()
	return m, nil
}

// palletV15 is a V15 pallet: a V14 pallet followed by its docs.
type palletV15 struct {
	types.PalletMetadataV14
	Docs []types.Text
}

func (p *palletV15) Decode(d scale.Decoder) error {
	if err := d.Decode(&p.PalletMetadataV14); err != nil {
		return err
	}
	return d.Decode(&p.Docs)
}

// extrinsicV15 is V15's extrinsic metadata (the V14 form names the
// extrinsic type instead of its four parts).
type extrinsicV15 struct {
	Version                                      types.U8
	AddressType, CallType, SignatureType, ExtraT types.Si1LookupTypeID
	SignedExtensions                             []types.SignedExtensionMetadataV14
}

// parseMetadataV15 reads V15 metadata ("meta" 0x0f ...), the form that
// Metadata_metadata_at_version(15) returns and the Python SDK uses, into the
// V14 shape the client works with. go-substrate-rpc-client decodes only V14;
// V15 begins with the same registry and pallets (each followed by its docs)
// and then the extrinsic's parts. Only the registry, pallets, extension list
// and runtime type are read; runtime APIs and outer enums are not needed.
func parseMetadataV15(raw []byte) (*runtimeMeta, error) {
	if !bytes.HasPrefix(raw, []byte("meta\x0f")) {
		return nil, fmt.Errorf("decode metadata: not V15 metadata")
	}
	d := scale.NewDecoder(bytes.NewReader(raw[5:]))
	var md types.Metadata
	md.Version = 14
	v14 := &md.AsMetadataV14
	var pallets []palletV15
	var ext extrinsicV15
	for _, step := range []struct {
		what string
		into any
	}{{"registry", &v14.Lookup}, {"pallets", &pallets}, {"extrinsic", &ext}, {"runtime type", &v14.Type}} {
		if err := d.Decode(step.into); err != nil {
			return nil, fmt.Errorf("decode V15 metadata %s: %w", step.what, err)
		}
	}
	v14.EfficientLookup = make(map[int64]*types.Si1Type, len(v14.Lookup.Types))
	for i := range v14.Lookup.Types {
		pt := &v14.Lookup.Types[i]
		v14.EfficientLookup[pt.ID.Int64()] = &pt.Type
	}
	for _, p := range pallets {
		v14.Pallets = append(v14.Pallets, p.PalletMetadataV14)
	}
	v14.Extrinsic = types.ExtrinsicV14{Version: ext.Version, SignedExtensions: ext.SignedExtensions}
	m := &runtimeMeta{md: &md}
	m.loadExtensions()
	return m, nil
}

// metadataAtVersionResult unwraps Metadata_metadata_at_version's
// Option<OpaqueMetadata> (OpaqueMetadata is a Vec<u8>); nil for None.
func metadataAtVersionResult(b []byte) ([]byte, error) {
	d := newDecoder(b)
	switch d.u8() {
	case 0:
		return nil, d.end()
	case 1:
		raw := d.bytes()
		return raw, d.end()
	}
	if d.err != nil {
		return nil, d.err
	}
	return nil, fmt.Errorf("metadata at version: result starts with %#x: not an Option", b[0])
}

// loadExtensions lists the runtime's transaction extensions in order.
func (m *runtimeMeta) loadExtensions() {
	m.extensions = nil
	for _, se := range m.md.AsMetadataV14.Extrinsic.SignedExtensions {
		m.extensions = append(m.extensions, extension{
			name:          string(se.Identifier),
			extraEmpty:    m.zeroSized(se.Type.Int64(), 0),
			implicitEmpty: m.zeroSized(se.AdditionalSigned.Int64(), 0),
		})
	}
}

// zeroSized reports whether a type encodes to no bytes (unit structs and
// empty tuples, as most transaction extensions are).
func (m *runtimeMeta) zeroSized(id int64, depth int) bool {
	t, ok := m.md.AsMetadataV14.EfficientLookup[id]
	if !ok || depth > 16 {
		return false
	}
	d := t.Def
	switch {
	case d.IsComposite:
		for _, f := range d.Composite.Fields {
			if !m.zeroSized(f.Type.Int64(), depth+1) {
				return false
			}
		}
		return true
	case d.IsTuple:
		for _, e := range d.Tuple {
			if !m.zeroSized(e.Int64(), depth+1) {
				return false
			}
		}
		return true
	case d.IsArray:
		return d.Array.Len == 0 || m.zeroSized(d.Array.Type.Int64(), depth+1)
	}
	return false
}

func (m *runtimeMeta) callIndex(pallet, call string) ([2]byte, error) {
	ci, err := m.md.FindCallIndex(pallet + "." + call)
	if err != nil {
		return [2]byte{}, fmt.Errorf("call %s.%s: %w", pallet, call, err)
	}
	return [2]byte{ci.SectionIndex, ci.MethodIndex}, nil
}

func (m *runtimeMeta) pallet(name string) (*types.PalletMetadataV14, error) {
	for i := range m.md.AsMetadataV14.Pallets {
		if string(m.md.AsMetadataV14.Pallets[i].Name) == name {
			return &m.md.AsMetadataV14.Pallets[i], nil
		}
	}
	return nil, fmt.Errorf("pallet %s not in metadata", name)
}

// storageDefault is the value a Default storage item reads as when absent.
func (m *runtimeMeta) storageDefault(pallet, item string) ([]byte, error) {
	p, err := m.pallet(pallet)
	if err != nil {
		return nil, err
	}
	for _, e := range p.Storage.Items {
		if string(e.Name) == item {
			return e.Fallback, nil
		}
	}
	return nil, fmt.Errorf("storage %s.%s not in metadata", pallet, item)
}

// errorName names error index idx of the pallet with index palletIdx.
func (m *runtimeMeta) errorName(palletIdx, idx uint8) (pallet, name string) {
	for _, p := range m.md.AsMetadataV14.Pallets {
		if uint8(p.Index) != palletIdx {
			continue
		}
		pallet = string(p.Name)
		if !p.HasErrors {
			break
		}
		t, ok := m.md.AsMetadataV14.EfficientLookup[p.Errors.Type.Int64()]
		if !ok || !t.Def.IsVariant {
			break
		}
		for _, v := range t.Def.Variant.Variants {
			if uint8(v.Index) == idx {
				return pallet, string(v.Name)
			}
		}
	}
	if pallet == "" {
		pallet = fmt.Sprintf("pallet%d", palletIdx)
	}
	return pallet, fmt.Sprintf("error%d", idx)
}

// eventFields returns the field types of event variant idx of the pallet
// with index palletIdx, with the pallet and event names.
func (m *runtimeMeta) eventFields(palletIdx, idx uint8) (pallet, event string, fields []int64, err error) {
	for _, p := range m.md.AsMetadataV14.Pallets {
		if uint8(p.Index) != palletIdx || !p.HasEvents {
			continue
		}
		t, ok := m.md.AsMetadataV14.EfficientLookup[p.Events.Type.Int64()]
		if !ok || !t.Def.IsVariant {
			break
		}
		for _, v := range t.Def.Variant.Variants {
			if uint8(v.Index) == idx {
				for _, f := range v.Fields {
					fields = append(fields, f.Type.Int64())
				}
				return string(p.Name), string(v.Name), fields, nil
			}
		}
	}
	return "", "", nil, fmt.Errorf("event %d.%d not in metadata", palletIdx, idx)
}

// skip advances d past one value of type id, driven by the type registry.
func (m *runtimeMeta) skip(d *decoder, id int64, depth int) {
	if d.err != nil {
		return
	}
	t, ok := m.md.AsMetadataV14.EfficientLookup[id]
	if !ok || depth > 64 {
		d.fail(fmt.Errorf("type %d not in registry", id))
		return
	}
	def := t.Def
	switch {
	case def.IsComposite:
		for _, f := range def.Composite.Fields {
			m.skip(d, f.Type.Int64(), depth+1)
		}
	case def.IsVariant:
		tag := d.u8()
		for _, v := range def.Variant.Variants {
			if uint8(v.Index) == tag {
				for _, f := range v.Fields {
					m.skip(d, f.Type.Int64(), depth+1)
				}
				return
			}
		}
		d.fail(fmt.Errorf("variant %d of type %d unknown", tag, id))
	case def.IsSequence:
		n := d.length()
		for i := 0; i < n && d.err == nil; i++ {
			m.skip(d, def.Sequence.Type.Int64(), depth+1)
		}
	case def.IsArray:
		for i := 0; i < int(def.Array.Len) && d.err == nil; i++ {
			m.skip(d, def.Array.Type.Int64(), depth+1)
		}
	case def.IsTuple:
		for _, e := range def.Tuple {
			m.skip(d, e.Int64(), depth+1)
		}
	case def.IsCompact:
		d.compactBig()
	case def.IsBitSequence:
		n := d.compact()
		d.take(int((n + 7) / 8))
	case def.IsPrimitive:
		d.take(primitiveSize(d, def.Primitive.Si0TypeDefPrimitive))
	default:
		d.fail(fmt.Errorf("type %d: unsupported definition", id))
	}
}

func primitiveSize(d *decoder, p types.Si0TypeDefPrimitive) int {
	switch p {
	case types.IsBool, types.IsU8, types.IsI8:
		return 1
	case types.IsU16, types.IsI16:
		return 2
	case types.IsChar, types.IsU32, types.IsI32:
		return 4
	case types.IsU64, types.IsI64:
		return 8
	case types.IsU128, types.IsI128:
		return 16
	case types.IsU256, types.IsI256:
		return 32
	case types.IsStr:
		return d.length()
	}
	d.fail(fmt.Errorf("unknown primitive %d", p))
	return 0
}

func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		return nil, fmt.Errorf("decode hex: %w", err)
	}
	return b, nil
}

// typeByPath finds a type by its full path, e.g. "sp_runtime::DispatchError".
func (m *runtimeMeta) typeByPath(path string) (int64, bool) {
	for id, t := range m.md.AsMetadataV14.EfficientLookup {
		if pathOf(t) == path {
			return id, true
		}
	}
	return 0, false
}

func pathOf(t *types.Si1Type) string {
	parts := make([]string, len(t.Path))
	for i, p := range t.Path {
		parts[i] = string(p)
	}
	return strings.Join(parts, "::")
}

// hasVariant reports whether the enum type at path has variant name at index.
func (m *runtimeMeta) hasVariant(path, name string, index uint8) bool {
	for _, t := range m.md.AsMetadataV14.EfficientLookup {
		if !t.Def.IsVariant || pathOf(t) != path {
			continue
		}
		for _, v := range t.Def.Variant.Variants {
			if string(v.Name) == name && uint8(v.Index) == index {
				return true
			}
		}
	}
	return false
}
