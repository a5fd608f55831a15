package amount

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// maxMoney is 21 million BTC in sat, consensus's MAX_MONEY: no output
// may carry more, and no transaction may spend or create more in total.
const maxMoney = 2_100_000_000_000_000

// PSBT is what pricing needs of a BIP174 (version 0) or BIP370 (version 2)
// PSBT: the transaction it builds and the outputs its inputs spend.
type PSBT struct {
	Version   uint32 // PSBT version: 0 or 2
	TxVersion uint32 // the transaction's version
	// Locktime is the unsigned transaction's for version 0; for version 2
	// it is computed as BIP370 "Determining Lock Time" says.
	Locktime uint32
	Inputs   []PSBTInput
	Outputs  []TxOut
}

// PSBTInput is one input of a PSBT's transaction.
type PSBTInput struct {
	PrevTxID  [32]byte // internal byte order, as serialized in the tx
	PrevIndex uint32
	Sequence  uint32
	// Value (sat) and Script of the output it spends, from witness_utxo
	// (PSBT_IN_WITNESS_UTXO) or else non_witness_utxo
	// (PSBT_IN_NON_WITNESS_UTXO, whose txid must equal PrevTxID or
	// decoding fails); HasUTXO false when neither.
	Value   uint64
	Script  []byte
	HasUTXO bool
}

// TxOut is a transaction output.
type TxOut struct {
	Value  uint64 // sat
	Script []byte // scriptPubKey
}

var (
	psbtMagic        = []byte("psbt\xff")
	errPSBTTruncated = errors.New("amount: psbt is truncated")
)

// DecodePSBT decodes a PSBT in standard base64, as CLN's RPC gives them,
// ignoring white space around it.
func DecodePSBT(b64 string) (*PSBT, error) {
	s := strings.TrimSpace(b64)
	if strings.ContainsAny(s, "\r\n") {
		// encoding/base64 would skip them silently: refuse rather
		// than guess how lightningd reads such a string.
		return nil, errors.New("amount: psbt has a line break inside its base64")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("amount: psbt is not base64: %w", err)
	}
	return ParsePSBT(raw)
}

// ParsePSBT decodes a PSBT in its binary form (BIP174, BIP370). It refuses
// what a BIP says is invalid among the fields it reads or whose keys it
// knows, trailing bytes, and any value above 21 million BTC; it skips
// unknown and proprietary keys.
func ParsePSBT(raw []byte) (*PSBT, error) {
	if !bytes.HasPrefix(raw, psbtMagic) {
		return nil, errors.New("amount: not a psbt (no psbt magic)")
	}
	c := &cursor{b: raw[len(psbtMagic):]}
	global, err := readMap(c, "global map")
	if err != nil {
		return nil, err
	}
	p := &PSBT{}
	if v, ok := find(global, psbtGlobalVersion); ok {
		if p.Version, err = u32Value(v, "PSBT_GLOBAL_VERSION"); err != nil {
			return nil, err
		}
	}
	if p.Version != 0 && p.Version != 2 {
		return nil, fmt.Errorf("amount: psbt version %d is not supported", p.Version)
	}
	if err := checkKeys(global, globalRules, p.Version, "global map"); err != nil {
		return nil, err
	}
	var fallback uint32
	if p.Version == 0 {
		if err := p.readUnsignedTx(global); err != nil {
			return nil, err
		}
	} else if fallback, err = p.readV2Globals(global, len(c.b)); err != nil {
		return nil, err
	}
	// BIP370 lock times each input requires, 0 where it has none.
	times := make([]uint32, len(p.Inputs))
	heights := make([]uint32, len(p.Inputs))
	for i := range p.Inputs {
		where := fmt.Sprintf("input %d", i)
		pairs, err := readMap(c, where)
		if err != nil {
			return nil, err
		}
		if err := checkKeys(pairs, inputRules, p.Version, where); err != nil {
			return nil, err
		}
		if times[i], heights[i], err = p.Inputs[i].read(pairs, p.Version, where); err != nil {
			return nil, err
		}
	}
	for i := range p.Outputs {
		where := fmt.Sprintf("output %d", i)
		pairs, err := readMap(c, where)
		if err != nil {
			return nil, err
		}
		if err := checkKeys(pairs, outputRules, p.Version, where); err != nil {
			return nil, err
		}
		if p.Version == 2 {
			if p.Outputs[i], err = readV2Output(pairs, where); err != nil {
				return nil, err
			}
		}
	}
	if len(c.b) != 0 {
		return nil, fmt.Errorf("amount: psbt has %d bytes after its last map", len(c.b))
	}
	if p.Version == 2 {
		if p.Locktime, err = lockTime(fallback, times, heights); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// TxID is the txid of the unsigned transaction, in the usual display form
// (hex, byte-reversed), as lightningd and bitcoind print it.
func (p *PSBT) TxID() string {
	h := sha256.New()
	w := func(b ...byte) { h.Write(b) }
	w(binary.LittleEndian.AppendUint32(nil, p.TxVersion)...)
	w(appendCompact(nil, uint64(len(p.Inputs)))...)
	for _, in := range p.Inputs {
		w(in.PrevTxID[:]...)
		w(binary.LittleEndian.AppendUint32(nil, in.PrevIndex)...)
		w(0) // empty scriptSig
		w(binary.LittleEndian.AppendUint32(nil, in.Sequence)...)
	}
	w(appendCompact(nil, uint64(len(p.Outputs)))...)
	for _, out := range p.Outputs {
		w(binary.LittleEndian.AppendUint64(nil, out.Value)...)
		w(appendCompact(nil, uint64(len(out.Script)))...)
		w(out.Script...)
	}
	w(binary.LittleEndian.AppendUint32(nil, p.Locktime)...)
	return displayTxID(doubleSHA256(h))
}

// Fee is what the inputs spend minus what the outputs pay, in sat. ok is
// false if an input has no UTXO, the outputs exceed the inputs, or either
// total exceeds 21 million BTC (consensus rejects such a transaction).
func (p *PSBT) Fee() (sat uint64, ok bool) {
	var in, out uint64
	for _, i := range p.Inputs {
		// Each term is at most maxMoney, so no sum here overflows.
		if !i.HasUTXO || i.Value > maxMoney || in+i.Value > maxMoney {
			return 0, false
		}
		in += i.Value
	}
	for _, o := range p.Outputs {
		if o.Value > maxMoney || out+o.Value > maxMoney {
			return 0, false
		}
		out += o.Value
	}
	if out > in {
		return 0, false
	}
	return in - out, true
}

// Key types read or checked here (BIP174, BIP370).
const (
	psbtGlobalUnsignedTx   = 0x00
	psbtGlobalXpub         = 0x01
	psbtGlobalTxVersion    = 0x02
	psbtGlobalFallbackLock = 0x03
	psbtGlobalInputCount   = 0x04
	psbtGlobalOutputCount  = 0x05
	psbtGlobalTxModifiable = 0x06
	psbtGlobalVersion      = 0xfb

	psbtInNonWitnessUTXO = 0x00
	psbtInWitnessUTXO    = 0x01
	psbtInPartialSig     = 0x02
	psbtInSighashType    = 0x03
	psbtInRedeemScript   = 0x04
	psbtInWitnessScript  = 0x05
	psbtInBIP32          = 0x06
	psbtInFinalScriptSig = 0x07
	psbtInFinalWitness   = 0x08
	psbtInPrevTxID       = 0x0e
	psbtInOutputIndex    = 0x0f
	psbtInSequence       = 0x10
	psbtInTimeLock       = 0x11
	psbtInHeightLock     = 0x12

	psbtOutRedeemScript  = 0x00
	psbtOutWitnessScript = 0x01
	psbtOutBIP32         = 0x02
	psbtOutAmount        = 0x03
	psbtOutScript        = 0x04
)

// A keyRule is what BIP174 and BIP370 allow of a known key type: the
// lengths its key data may have, and the one PSBT version that may carry
// it (-1: either).
type keyRule struct {
	keyData []int
	version int
}

var (
	noKeyData = []int{0}
	pubKey    = []int{33, 65}
)

var globalRules = map[uint64]keyRule{
	psbtGlobalUnsignedTx:   {noKeyData, 0},
	psbtGlobalXpub:         {[]int{78}, -1},
	psbtGlobalTxVersion:    {noKeyData, 2},
	psbtGlobalFallbackLock: {noKeyData, 2},
	psbtGlobalInputCount:   {noKeyData, 2},
	psbtGlobalOutputCount:  {noKeyData, 2},
	psbtGlobalTxModifiable: {noKeyData, 2},
	psbtGlobalVersion:      {noKeyData, -1},
}

var inputRules = map[uint64]keyRule{
	psbtInNonWitnessUTXO: {noKeyData, -1},
	psbtInWitnessUTXO:    {noKeyData, -1},
	psbtInPartialSig:     {pubKey, -1},
	psbtInSighashType:    {noKeyData, -1},
	psbtInRedeemScript:   {noKeyData, -1},
	psbtInWitnessScript:  {noKeyData, -1},
	psbtInBIP32:          {pubKey, -1},
	psbtInFinalScriptSig: {noKeyData, -1},
	psbtInFinalWitness:   {noKeyData, -1},
	psbtInPrevTxID:       {noKeyData, 2},
	psbtInOutputIndex:    {noKeyData, 2},
	psbtInSequence:       {noKeyData, 2},
	psbtInTimeLock:       {noKeyData, 2},
	psbtInHeightLock:     {noKeyData, 2},
}

var outputRules = map[uint64]keyRule{
	psbtOutRedeemScript:  {noKeyData, -1},
	psbtOutWitnessScript: {noKeyData, -1},
	psbtOutBIP32:         {pubKey, -1},
	psbtOutAmount:        {noKeyData, 2},
	psbtOutScript:        {noKeyData, 2},
}

// A pair is one key-value pair of a PSBT map, its key split into type and
// key data.
type pair struct {
	typ  uint64
	key  []byte // key data
	data []byte // value
}

// readMap reads one map's key-value pairs up to its 0x00 separator,
// refusing a key seen twice (BIP174).
func readMap(c *cursor, where string) ([]pair, error) {
	var pairs []pair
	seen := make(map[string]bool)
	for {
		key := c.varBytes()
		if c.err != nil {
			return nil, c.err
		}
		if len(key) == 0 {
			return pairs, nil
		}
		if seen[string(key)] {
			return nil, fmt.Errorf("amount: psbt %s has key %x twice", where, key)
		}
		seen[string(key)] = true
		k := &cursor{b: key}
		typ := k.compact()
		if k.err != nil {
			return nil, fmt.Errorf("amount: psbt %s has a malformed key type in key %x", where, key)
		}
		val := c.varBytes()
		if c.err != nil {
			return nil, c.err
		}
		pairs = append(pairs, pair{typ, k.b, val})
	}
}

// checkKeys refuses known key types with the wrong key data or in a PSBT
// of a version that excludes them.
func checkKeys(pairs []pair, rules map[uint64]keyRule, version uint32, where string) error {
	for _, p := range pairs {
		r, known := rules[p.typ]
		if !known {
			continue // unknown and proprietary keys are skipped
		}
		if r.version >= 0 && uint32(r.version) != version {
			return fmt.Errorf("amount: psbt %s has key type 0x%02x, which version %d excludes", where, p.typ, version)
		}
		if !slices.Contains(r.keyData, len(p.key)) {
			return fmt.Errorf("amount: psbt %s key type 0x%02x has %d bytes of key data", where, p.typ, len(p.key))
		}
	}
	return nil
}

// find returns the value of the key of type typ without key data.
func find(pairs []pair, typ uint64) ([]byte, bool) {
	for _, p := range pairs {
		if p.typ == typ && len(p.key) == 0 {
			return p.data, true
		}
	}
	return nil, false
}

func u32Value(v []byte, name string) (uint32, error) {
	if len(v) != 4 {
		return 0, fmt.Errorf("amount: psbt %s is %d bytes, not 4", name, len(v))
	}
	return binary.LittleEndian.Uint32(v), nil
}

// readUnsignedTx takes a version 0 PSBT's transaction from
// PSBT_GLOBAL_UNSIGNED_TX, which BIP174 requires be unsigned.
func (p *PSBT) readUnsignedTx(global []pair) error {
	raw, ok := find(global, psbtGlobalUnsignedTx)
	if !ok {
		return errors.New("amount: version 0 psbt has no unsigned transaction")
	}
	tx, err := parseTx(raw, false)
	if err != nil {
		return fmt.Errorf("amount: psbt unsigned transaction: %w", err)
	}
	p.TxVersion, p.Locktime = tx.version, tx.locktime
	p.Inputs = make([]PSBTInput, len(tx.inputs))
	for i, in := range tx.inputs {
		if len(in.scriptSig) > 0 {
			return fmt.Errorf("amount: psbt unsigned transaction input %d has a scriptSig", i)
		}
		p.Inputs[i] = PSBTInput{PrevTxID: in.prev, PrevIndex: in.index, Sequence: in.sequence}
	}
	p.Outputs = tx.outputs
	return nil
}

// The smallest version 2 maps: an input's holds PSBT_IN_PREVIOUS_TXID,
// PSBT_IN_OUTPUT_INDEX and its separator; an output's PSBT_OUT_AMOUNT, an
// empty PSBT_OUT_SCRIPT and its separator.
const (
	minV2InputMap  = 3 + 32 + 3 + 4 + 1
	minV2OutputMap = 3 + 8 + 3 + 1
)

// readV2Globals reads a version 2 PSBT's transaction fields and sizes its
// inputs and outputs; rest is how many bytes follow the global map.
func (p *PSBT) readV2Globals(global []pair, rest int) (fallback uint32, err error) {
	v, ok := find(global, psbtGlobalTxVersion)
	if !ok {
		return 0, errors.New("amount: version 2 psbt has no PSBT_GLOBAL_TX_VERSION")
	}
	if p.TxVersion, err = u32Value(v, "PSBT_GLOBAL_TX_VERSION"); err != nil {
		return 0, err
	}
	if v, ok := find(global, psbtGlobalFallbackLock); ok {
		if fallback, err = u32Value(v, "PSBT_GLOBAL_FALLBACK_LOCKTIME"); err != nil {
			return 0, err
		}
	}
	if v, ok := find(global, psbtGlobalTxModifiable); ok && len(v) != 1 {
		return 0, fmt.Errorf("amount: psbt PSBT_GLOBAL_TX_MODIFIABLE is %d bytes, not 1", len(v))
	}
	count := func(typ uint64, name string) (int, error) {
		v, ok := find(global, typ)
		if !ok {
			return 0, fmt.Errorf("amount: version 2 psbt has no %s", name)
		}
		c := &cursor{b: v}
		n := c.compact()
		if c.err != nil || len(c.b) != 0 {
			return 0, fmt.Errorf("amount: psbt %s is not one compact size", name)
		}
		if n > uint64(rest) {
			return 0, fmt.Errorf("amount: psbt %s %d exceeds what follows", name, n)
		}
		return int(n), nil
	}
	nIn, err := count(psbtGlobalInputCount, "PSBT_GLOBAL_INPUT_COUNT")
	if err != nil {
		return 0, err
	}
	nOut, err := count(psbtGlobalOutputCount, "PSBT_GLOBAL_OUTPUT_COUNT")
	if err != nil {
		return 0, err
	}
	// Counts that what follows cannot hold must not size allocations.
	if nIn*minV2InputMap+nOut*minV2OutputMap > rest {
		return 0, errPSBTTruncated
	}
	p.Inputs = make([]PSBTInput, nIn)
	p.Outputs = make([]TxOut, nOut)
	return fallback, nil
}

// read fills in an input from its map: for version 2 its outpoint,
// sequence and required lock times (0 when absent); for both versions the
// output it spends.
func (in *PSBTInput) read(pairs []pair, version uint32, where string) (timeLock, heightLock uint32, err error) {
	if version == 2 {
		v, ok := find(pairs, psbtInPrevTxID)
		if !ok || len(v) != 32 {
			return 0, 0, fmt.Errorf("amount: psbt %s has no 32-byte PSBT_IN_PREVIOUS_TXID", where)
		}
		copy(in.PrevTxID[:], v)
		if v, ok = find(pairs, psbtInOutputIndex); !ok {
			return 0, 0, fmt.Errorf("amount: psbt %s has no PSBT_IN_OUTPUT_INDEX", where)
		}
		if in.PrevIndex, err = u32Value(v, "PSBT_IN_OUTPUT_INDEX"); err != nil {
			return 0, 0, err
		}
		in.Sequence = 0xffffffff // BIP370: the default when omitted
		if v, ok = find(pairs, psbtInSequence); ok {
			if in.Sequence, err = u32Value(v, "PSBT_IN_SEQUENCE"); err != nil {
				return 0, 0, err
			}
		}
		if v, ok = find(pairs, psbtInTimeLock); ok {
			if timeLock, err = u32Value(v, "PSBT_IN_REQUIRED_TIME_LOCKTIME"); err != nil {
				return 0, 0, err
			}
			if timeLock < 500_000_000 {
				return 0, 0, fmt.Errorf("amount: psbt %s requires time lock %d, below 500000000", where, timeLock)
			}
		}
		if v, ok = find(pairs, psbtInHeightLock); ok {
			if heightLock, err = u32Value(v, "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME"); err != nil {
				return 0, 0, err
			}
			if heightLock == 0 || heightLock >= 500_000_000 {
				return 0, 0, fmt.Errorf("amount: psbt %s requires height lock %d, not in 1..499999999", where, heightLock)
			}
		}
	}
	if v, ok := find(pairs, psbtInWitnessUTXO); ok {
		c := &cursor{b: v}
		out := c.txOut()
		if c.err != nil {
			return 0, 0, fmt.Errorf("amount: psbt %s witness utxo: %w", where, c.err)
		}
		if len(c.b) != 0 {
			return 0, 0, fmt.Errorf("amount: psbt %s witness utxo has %d extra bytes", where, len(c.b))
		}
		in.Value, in.Script, in.HasUTXO = out.Value, out.Script, true
	}
	if v, ok := find(pairs, psbtInNonWitnessUTXO); ok {
		prev, err := parseTx(v, true)
		if err != nil {
			return 0, 0, fmt.Errorf("amount: psbt %s non-witness utxo: %w", where, err)
		}
		if prev.txid != in.PrevTxID {
			return 0, 0, fmt.Errorf("amount: psbt %s non-witness utxo is transaction %s, not the %s it spends",
				where, displayTxID(prev.txid), displayTxID(in.PrevTxID))
		}
		if uint64(in.PrevIndex) >= uint64(len(prev.outputs)) {
			return 0, 0, fmt.Errorf("amount: psbt %s spends output %d of a transaction with %d", where, in.PrevIndex, len(prev.outputs))
		}
		out := prev.outputs[in.PrevIndex]
		// The txid commits to this copy; a witness utxo saying otherwise
		// would misprice the input, so neither is believed.
		if in.HasUTXO && (in.Value != out.Value || !bytes.Equal(in.Script, out.Script)) {
			return 0, 0, fmt.Errorf("amount: psbt %s witness utxo disagrees with its non-witness utxo", where)
		}
		in.Value, in.Script, in.HasUTXO = out.Value, out.Script, true
	}
	return timeLock, heightLock, nil
}

// readV2Output reads a version 2 output's amount and script.
func readV2Output(pairs []pair, where string) (TxOut, error) {
	v, ok := find(pairs, psbtOutAmount)
	if !ok || len(v) != 8 {
		return TxOut{}, fmt.Errorf("amount: psbt %s has no 8-byte PSBT_OUT_AMOUNT", where)
	}
	// A negative int64 reads as above maxMoney.
	value := binary.LittleEndian.Uint64(v)
	if value > maxMoney {
		return TxOut{}, fmt.Errorf("amount: psbt %s amount %d sat is negative or above 21 million BTC", where, int64(value))
	}
	script, ok := find(pairs, psbtOutScript)
	if !ok {
		return TxOut{}, fmt.Errorf("amount: psbt %s has no PSBT_OUT_SCRIPT", where)
	}
	return TxOut{Value: value, Script: script}, nil
}

// lockTime is BIP370 "Determining Lock Time": with no input requiring a
// lock time, the fallback; else the latest required lock time of the kind
// every input that requires one accepts, heights first.
func lockTime(fallback uint32, times, heights []uint32) (uint32, error) {
	required, byHeight, byTime := false, true, true
	var height, unix uint32
	for i := range times {
		if times[i] == 0 && heights[i] == 0 {
			continue
		}
		required = true
		byHeight = byHeight && heights[i] != 0
		byTime = byTime && times[i] != 0
		height, unix = max(height, heights[i]), max(unix, times[i])
	}
	switch {
	case !required:
		return fallback, nil
	case byHeight:
		return height, nil
	case byTime:
		return unix, nil
	}
	return 0, errors.New("amount: psbt inputs require both a height and a time lock")
}

// A msgTx is a transaction as serialized in Bitcoin's P2P messages.
type msgTx struct {
	version  uint32
	inputs   []txIn
	outputs  []TxOut
	locktime uint32
	txid     [32]byte // internal byte order
}

type txIn struct {
	prev      [32]byte
	index     uint32
	scriptSig []byte
	sequence  uint32
}

// Smallest serialized input (outpoint, empty script, sequence) and output
// (value, empty script): they bound a count before it sizes an allocation.
const (
	minTxInSize  = 32 + 4 + 1 + 4
	minTxOutSize = 8 + 1
)

// parseTx reads exactly one transaction. segwit allows the BIP144
// serialization (marker 0x00, flag 0x01, then witnesses after the
// outputs), which a PSBT's unsigned transaction must not use.
func parseTx(raw []byte, segwit bool) (*msgTx, error) {
	c := &cursor{b: raw}
	tx := &msgTx{version: c.u32()}
	witness := false
	// With no inputs, 0x00 0x00 is also an empty input and output list,
	// which the non-witness reading below gives.
	if segwit && len(c.b) >= 2 && c.b[0] == 0 && c.b[1] != 0 {
		if c.b[1] != 1 {
			return nil, fmt.Errorf("amount: transaction has unknown segwit flag 0x%02x", c.b[1])
		}
		witness = true
		c.b = c.b[2:]
	}
	body := c.b // inputs and outputs: with version and locktime, what the txid hashes
	nIn := c.compact()
	if nIn > uint64(len(c.b)/minTxInSize) {
		return nil, errPSBTTruncated
	}
	tx.inputs = make([]txIn, nIn)
	for i := range tx.inputs {
		in := &tx.inputs[i]
		copy(in.prev[:], c.bytes(32))
		in.index = c.u32()
		in.scriptSig = c.varBytes()
		in.sequence = c.u32()
	}
	nOut := c.compact()
	if nOut > uint64(len(c.b)/minTxOutSize) {
		return nil, errPSBTTruncated
	}
	tx.outputs = make([]TxOut, nOut)
	for i := range tx.outputs {
		tx.outputs[i] = c.txOut()
	}
	body = body[:len(body)-len(c.b)]
	if witness {
		empty := true
		for range tx.inputs {
			n := c.compact()
			if n > uint64(len(c.b)) {
				return nil, errPSBTTruncated
			}
			for range n {
				c.varBytes()
			}
			empty = empty && n == 0
		}
		if empty {
			// Bitcoin Core refuses a segwit serialization of a
			// transaction without witnesses.
			return nil, errors.New("amount: transaction has a segwit marker but no witness")
		}
	}
	tx.locktime = c.u32()
	if c.err != nil {
		return nil, c.err
	}
	if len(c.b) != 0 {
		return nil, fmt.Errorf("amount: transaction has %d extra bytes", len(c.b))
	}
	h := sha256.New()
	h.Write(raw[:4])
	h.Write(body)
	h.Write(raw[len(raw)-4:])
	tx.txid = doubleSHA256(h)
	return tx, nil
}

// doubleSHA256 finishes h, which has hashed once, with a second SHA-256.
func doubleSHA256(h hash.Hash) [32]byte {
	return sha256.Sum256(h.Sum(nil))
}

// displayTxID is a txid as bitcoind and lightningd print it: hex, byte
// order reversed.
func displayTxID(id [32]byte) string {
	slices.Reverse(id[:])
	return hex.EncodeToString(id[:])
}

// appendCompact appends n as a Bitcoin compact size.
func appendCompact(b []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
}

// A cursor reads a byte slice front to back. Its first failure sticks and
// later reads return zero values, so a parser checks err once after a run
// of reads.
type cursor struct {
	b   []byte
	err error
}

// bytes takes the next n bytes, or fails if fewer remain.
func (c *cursor) bytes(n uint64) []byte {
	if c.err != nil {
		return nil
	}
	if n > uint64(len(c.b)) {
		c.err = errPSBTTruncated
		return nil
	}
	v := c.b[:n:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) u32() uint32 {
	if v := c.bytes(4); len(v) == 4 {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if v := c.bytes(8); len(v) == 8 {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// compact reads a compact size, refusing one not minimally encoded as
// Bitcoin Core does.
func (c *cursor) compact() uint64 {
	b := c.bytes(1)
	if len(b) == 0 {
		return 0
	}
	var n, least uint64
	switch b[0] {
	case 0xfd:
		if v := c.bytes(2); len(v) == 2 {
			n, least = uint64(binary.LittleEndian.Uint16(v)), 0xfd
		}
	case 0xfe:
		if v := c.bytes(4); len(v) == 4 {
			n, least = uint64(binary.LittleEndian.Uint32(v)), 0x10000
		}
	case 0xff:
		n, least = c.u64(), 0x100000000
	default:
		return uint64(b[0])
	}
	if c.err == nil && n < least {
		c.err = errors.New("amount: psbt has a compact size not minimally encoded")
	}
	return n
}

// varBytes reads a compact size and that many bytes.
func (c *cursor) varBytes() []byte {
	return c.bytes(c.compact())
}

// txOut reads a serialized output, refusing a value above 21 million BTC.
func (c *cursor) txOut() TxOut {
	out := TxOut{Value: c.u64()}
	out.Script = c.varBytes()
	if c.err == nil && out.Value > maxMoney {
		c.err = fmt.Errorf("amount: output value %d sat is above 21 million BTC", out.Value)
	}
	return out
}
