package amount

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// psbtVector is one case of testdata/bip174.txt or bip370.txt, taken from
// the BIPs' "Test Vectors" sections.
type psbtVector struct {
	valid      bool
	name, b64  string
	locktime   uint32 // what BIP370 says the lock time computes to
	inLockCase bool   // BIP370 states locktime
}

var lockSuffix = regexp.MustCompile(` \[locktime (\d+)\]$`)

func loadPSBTVectors(t testing.TB, file string) []psbtVector {
	t.Helper()
	f, err := os.Open(file)
	assert.NilError(t, err)
	defer f.Close()
	var vs []psbtVector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		assert.Equal(t, len(fields), 3, line)
		v := psbtVector{valid: fields[0] == "valid", name: fields[1], b64: fields[2]}
		if m := lockSuffix.FindStringSubmatch(v.name); m != nil {
			n, err := strconv.ParseUint(m[1], 10, 32)
			assert.NilError(t, err)
			v.locktime, v.inLockCase = uint32(n), true
		}
		vs = append(vs, v)
	}
	assert.NilError(t, sc.Err())
	return vs
}

func allPSBTVectors(t testing.TB) []psbtVector {
	return append(loadPSBTVectors(t, "testdata/bip174.txt"), loadPSBTVectors(t, "testdata/bip370.txt")...)
}

func namedVector(t *testing.T, name string) string {
	t.Helper()
	for _, v := range allPSBTVectors(t) {
		if v.name == name {
			return v.b64
		}
	}
	t.Fatalf("no vector %q", name)
	return ""
}

func TestPSBTVectors(t *testing.T) {
	vs := allPSBTVectors(t)
	var valid, invalid int
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			p, err := DecodePSBT(v.b64)
			if !v.valid {
				invalid++
				assert.Assert(t, err != nil, "decoded %+v", p)
				assert.Assert(t, strings.HasPrefix(err.Error(), "amount: "), err.Error())
				return
			}
			valid++
			assert.NilError(t, err)
			raw, err := base64.StdEncoding.DecodeString(v.b64)
			assert.NilError(t, err)
			again, err := ParsePSBT(raw)
			assert.NilError(t, err)
			assert.DeepEqual(t, again, p)
			if v.inLockCase {
				assert.Equal(t, p.Locktime, v.locktime)
			}
			if p.Version == 0 {
				// TxID re-serializes; the unsigned tx's own bytes must
				// hash the same.
				assert.Equal(t, p.TxID(), unsignedTxID(t, raw))
			}
		})
	}
	// Guard against a truncated or misparsed vector file.
	assert.Equal(t, valid, 47)
	assert.Equal(t, invalid, 45)
}

// unsignedTxID hashes the bytes of a version 0 PSBT's
// PSBT_GLOBAL_UNSIGNED_TX, found by a reading separate from ParsePSBT's.
func unsignedTxID(t testing.TB, raw []byte) string {
	t.Helper()
	b := raw[5:]
	for len(b) > 0 && b[0] != 0 {
		klen, b2 := compactAt(t, b)
		key := b2[:klen]
		vlen, b3 := compactAt(t, b2[klen:])
		if bytes.Equal(key, []byte{0}) {
			tx, err := parseTx(b3[:vlen], false)
			assert.NilError(t, err)
			return displayTxID(tx.txid)
		}
		b = b3[vlen:]
	}
	t.Fatal("no unsigned tx")
	return ""
}

func compactAt(t testing.TB, b []byte) (int, []byte) {
	t.Helper()
	switch b[0] {
	case 0xfd:
		return int(binary.LittleEndian.Uint16(b[1:])), b[3:]
	case 0xfe:
		return int(binary.LittleEndian.Uint32(b[1:])), b[5:]
	case 0xff:
		t.Fatal("8-byte compact size in a vector")
	}
	return int(b[0]), b[1:]
}

// txid turns a display txid into internal byte order.
func txid(t testing.TB, display string) (id [32]byte) {
	t.Helper()
	b, err := hex.DecodeString(display)
	assert.NilError(t, err)
	assert.Equal(t, len(b), 32)
	slices.Reverse(b)
	copy(id[:], b)
	return id
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	assert.NilError(t, err)
	return b
}

// TestPSBTBIP174Updater checks BIP174's updater example against bitcoind:
// its decodepsbt of this PSBT (with SIGHASH_ALL added; the transaction
// and UTXOs are the same) gives txid 82efd652…617b and fee 0.00010000,
// spending 0.5 BTC (non_witness_utxo output 0) and 2 BTC (witness_utxo)
// for outputs of 1.4999 and 1 BTC. The inputs' txids are the BIP's.
func TestPSBTBIP174Updater(t *testing.T) {
	want := &PSBT{
		Version:   0,
		TxVersion: 2,
		Locktime:  0,
		Inputs: []PSBTInput{{
			PrevTxID:  txid(t, "75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858"),
			PrevIndex: 0,
			Sequence:  0xffffffff,
			Value:     50_000_000,
			Script:    unhex(t, "a9140fb9463421696b82c833af241c78c17ddbde493487"),
			HasUTXO:   true,
		}, {
			PrevTxID:  txid(t, "1dea7cd05979072a3578cab271c02244ea8a090bbb46aa680a65ecd027048d83"),
			PrevIndex: 1,
			Sequence:  0xffffffff,
			Value:     200_000_000,
			Script:    unhex(t, "a914b7f5faf40e3d40a5a459b1db3535f2b72fa921e887"),
			HasUTXO:   true,
		}},
		Outputs: []TxOut{
			{149_990_000, unhex(t, "0014d85c2b71d0060b09c9886aeb815e50991dda124d")},
			{100_000_000, unhex(t, "001400aea9a2e5f0f876a588df5546e8742d1d87008f")},
		},
	}
	for _, name := range []string{"updater", "updater with SIGHASH_ALL", "combiner", "input finalizer"} {
		t.Run(name, func(t *testing.T) {
			p, err := DecodePSBT(namedVector(t, name))
			assert.NilError(t, err)
			assert.DeepEqual(t, p, want)
			assert.Equal(t, p.TxID(), "82efd652d7ab1197f01a5f4d9a30cb4c68bb79ab6fec58dfa1bf112291d1617b")
			fee, ok := p.Fee()
			assert.Assert(t, ok)
			assert.Equal(t, fee, uint64(10_000))
		})
	}
	t.Run("creator", func(t *testing.T) {
		p, err := DecodePSBT(namedVector(t, "creator"))
		assert.NilError(t, err)
		assert.Equal(t, p.TxID(), "82efd652d7ab1197f01a5f4d9a30cb4c68bb79ab6fec58dfa1bf112291d1617b")
		assert.Check(t, !p.Inputs[0].HasUTXO && !p.Inputs[1].HasUTXO)
		_, ok := p.Fee()
		assert.Check(t, !ok, "fee without UTXOs")
	})
}

// TestPSBTV2 reads BIP370's updated example by hand: the input spends
// 999999000 sat (0x3b9ac618, its witness and non-witness UTXO agree) for
// outputs of 800000000 and 199998859 sat.
func TestPSBTV2(t *testing.T) {
	in := PSBTInput{
		PrevTxID:  [32]byte(unhex(t, "0b0ad921419c1c8719735d72dc739f9ea9e0638d1fe4c1eef0f9944084815fc8")),
		PrevIndex: 0,
		Sequence:  0xffffffff,
		Value:     999_999_000,
		Script:    unhex(t, "0014b0a3af144208412693ca7d166852b52db0aef06e"),
		HasUTXO:   true,
	}
	outs := []TxOut{
		{800_000_000, unhex(t, "0014c430f64c4756da310dbd1a085572ef299926272c")},
		{199_998_859, unhex(t, "00144dd193ac964a56ac1b9e1cca8454fe2f474f8513")},
	}
	tests := []struct {
		vector   string
		sequence uint32
		locktime uint32
		hasUTXO  bool
	}{
		{"1 input, 2 output PSBTv2, required fields only.", 0xffffffff, 0, false},
		{"1 input, 2 output updated PSBTv2.", 0xffffffff, 0, true},
		{"1 input, 2 output updated PSBTv2, with PSBT_IN_SEQUENCE.", 0xfffffffe, 0, true},
		// Height lock 10000 and time lock 1657048460: heights win.
		{"1 input, 2 output updated PSBTv2, with PSBT_IN_SEQUENCE, and all locktime fields", 0xfffffffe, 10000, true},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			p, err := DecodePSBT(namedVector(t, tt.vector))
			assert.NilError(t, err)
			want := in
			want.Sequence = tt.sequence
			if !tt.hasUTXO {
				want.Value, want.Script, want.HasUTXO = 0, nil, false
			}
			assert.DeepEqual(t, p, &PSBT{Version: 2, TxVersion: 2, Locktime: tt.locktime, Inputs: []PSBTInput{want}, Outputs: outs})
			fee, ok := p.Fee()
			assert.Equal(t, ok, tt.hasUTXO)
			if ok {
				assert.Equal(t, fee, uint64(141))
			}
		})
	}
}

// TestParseTxTxID checks transaction parsing and txids against published
// ones: the genesis coinbase; mainnet f5864806…, segwit-serialized (as in
// rust-bitcoin's decode_segwit_transaction test); BIP174's two previous
// transactions, one segwit-serialized, whose txids the BIP states.
func TestParseTxTxID(t *testing.T) {
	tests := []struct {
		name, raw, txid string
	}{
		{"genesis coinbase", genesisCoinbase, "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"},
		{"mainnet segwit", mainnetSegwitTx, "f5864806e3565c34d1b41e716f72609d00b55ea5eac5b924c9719a842ef42206"},
		{"BIP174 segwit", "0200000000010158e87a21b56daf0c23be8e7070456c336f7cbaa5c8757924f545887bb2abdd7501000000171600145f275f436b09a8cc9a2eb2a2f528485c68a56323feffffff02d8231f1b0100000017a914aed962d6654f9a2b36608eb9d64d2b260db4f1118700c2eb0b0000000017a914b7f5faf40e3d40a5a459b1db3535f2b72fa921e88702483045022100a22edcc6e5bc511af4cc4ae0de0fcd75c7e04d8c1c3a8aa9d820ed4b967384ec02200642963597b9b1bc22c75e9f3e117284a962188bf5e8a74c895089046a20ad770121035509a48eb623e10aace8bfd0212fdb8a8e5af3c94b0b133b95e114cab89e4f7965000000", "1dea7cd05979072a3578cab271c02244ea8a090bbb46aa680a65ecd027048d83"},
		{"BIP174 legacy", "0200000001aad73931018bd25f84ae400b68848be09db706eac2ac18298babee71ab656f8b0000000048473044022058f6fc7c6a33e1b31548d481c826c015bd30135aad42cd67790dab66d2ad243b02204a1ced2604c6735b6393e5b41691dd78b00f0c5942fb9f751856faa938157dba01feffffff0280f0fa020000000017a9140fb9463421696b82c833af241c78c17ddbde493487d0f20a270100000017a91429ca74f8a08f81999428185c97b5d852e4063f618765000000", "75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := parseTx(unhex(t, tt.raw), true)
			assert.NilError(t, err)
			assert.Equal(t, displayTxID(tx.txid), tt.txid)
		})
	}
}

const (
	genesisCoinbase = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000"
	// mainnetSegwitTx is f5864806…: one P2WPKH input, one P2SH output
	// of 506078 sat.
	mainnetSegwitTx = "02000000000101595895ea20179de87052b4046dfe6fd515860505d6511a9004cf12a1f93cac7c0100000000ffffffff01deb807000000000017a9140f3444e271620c736808aa7b33e370bd87cb5a078702483045022100fb60dad8df4af2841adc0346638c16d0b8035f5e3f3753b88db122e70c79f9370220756e6633b17fd2710e626347d28d60b0a2d6cbb41de51740644b9fb3ba7751040121028fa937ca8cba2197a37c007176ed8941055d3bcb8627d085e94553e62f057dcc00000000"
	// mainnetSegwitUnsigned is it without marker, flag and witness.
	mainnetSegwitUnsigned = "0200000001595895ea20179de87052b4046dfe6fd515860505d6511a9004cf12a1f93cac7c0100000000ffffffff01deb807000000000017a9140f3444e271620c736808aa7b33e370bd87cb5a078700000000"
)

// kv is a PSBT key-value pair.
func kv(key, val []byte) []byte {
	b := appendCompact(nil, uint64(len(key)))
	b = append(b, key...)
	b = appendCompact(b, uint64(len(val)))
	return append(b, val...)
}

// psbtOf joins maps (each a list of pairs) after the magic.
func psbtOf(maps ...[][]byte) []byte {
	b := []byte("psbt\xff")
	for _, m := range maps {
		for _, p := range m {
			b = append(b, p...)
		}
		b = append(b, 0)
	}
	return b
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func witnessUTXO(value uint64, script []byte) []byte {
	return append(append(le64(value), byte(len(script))), script...)
}

// TestPSBTMainnetTx wraps mainnet transaction f5864806… as a version 0
// PSBT; its txid is public. The witness UTXO's value is made up (the
// output's value, 506078 sat, plus a 1000 sat fee).
func TestPSBTMainnetTx(t *testing.T) {
	p2wpkh := unhex(t, "0014"+strings.Repeat("ab", 20))
	raw := psbtOf(
		[][]byte{kv([]byte{0}, unhex(t, mainnetSegwitUnsigned))},
		[][]byte{kv([]byte{1}, witnessUTXO(507_078, p2wpkh))},
		nil,
	)
	p, err := ParsePSBT(raw)
	assert.NilError(t, err)
	assert.Equal(t, p.TxID(), "f5864806e3565c34d1b41e716f72609d00b55ea5eac5b924c9719a842ef42206")
	assert.Equal(t, p.Outputs[0].Value, uint64(506_078))
	fee, ok := p.Fee()
	assert.Assert(t, ok)
	assert.Equal(t, fee, uint64(1000))

	// The segwit form is refused as an unsigned transaction (BIP174).
	raw = psbtOf([][]byte{kv([]byte{0}, unhex(t, mainnetSegwitTx))}, nil, nil)
	_, err = ParsePSBT(raw)
	assert.Assert(t, err != nil)
}

// spendGenesis is a version 0 PSBT spending the genesis coinbase's
// output, with its non-witness UTXO and extra input pairs; the
// transaction pays out.
func spendGenesis(t testing.TB, out uint64, index uint32, prev string, extra ...[]byte) []byte {
	tx := le32(2)
	tx = append(tx, 1)
	gid := txid(t, "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")
	tx = append(tx, gid[:]...)
	tx = append(tx, le32(index)...)
	tx = append(tx, 0)
	tx = append(tx, le32(0xffffffff)...)
	tx = append(tx, 1)
	tx = append(tx, le64(out)...)
	tx = append(tx, 1, 0x51)
	tx = append(tx, le32(0)...)
	in := [][]byte{kv([]byte{0}, unhex(t, prev))}
	return psbtOf([][]byte{kv([]byte{0}, tx)}, append(in, extra...), nil)
}

func TestPSBTRejects(t *testing.T) {
	genesisP2PK := unhex(t, "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac")
	updater, err := base64.StdEncoding.DecodeString(namedVector(t, "updater"))
	assert.NilError(t, err)
	v2 := func(globals ...[]byte) []byte {
		g := [][]byte{kv([]byte{0xfb}, le32(2)), kv([]byte{0x02}, le32(2))}
		return psbtOf(append(g, globals...))
	}
	tests := []struct {
		name string
		raw  []byte
		err  string
	}{
		{"genesis spent: control", nil, ""},
		{"wrong output index", spendGenesis(t, 1, 1, genesisCoinbase), "spends output 1 of a transaction with 1"},
		{"non-witness utxo of another tx", spendGenesis(t, 1, 0, mainnetSegwitTx), "not the 4a5e1e4b"},
		{"witness utxo disagrees", spendGenesis(t, 1, 0, genesisCoinbase, kv([]byte{1}, witnessUTXO(49_0000_0000, genesisP2PK))), "disagrees"},
		{"trailing byte", append(slices.Clone(updater), 0), "1 bytes after its last map"},
		{"version 1", psbtOf([][]byte{kv([]byte{0xfb}, le32(1))}), "version 1 is not supported"},
		{"version 3", psbtOf([][]byte{kv([]byte{0xfb}, le32(3))}), "version 3 is not supported"},
		{"version of 2 bytes", psbtOf([][]byte{kv([]byte{0xfb}, []byte{2, 0})}), "is 2 bytes, not 4"},
		{"duplicate global key", psbtOf([][]byte{kv([]byte{0xfc, 1}, nil), kv([]byte{0xfc, 1}, []byte{1})}), "twice"},
		{"non-minimal compact size", append([]byte("psbt\xff"), 0xfd, 1, 0), "not minimally encoded"},
		{"huge key length", append([]byte("psbt\xff"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "truncated"},
		{"huge input count", v2(kv([]byte{4}, []byte{0xfe, 0xff, 0xff, 0xff, 0xff}), kv([]byte{5}, []byte{0})), "exceeds what follows"},
		{"count beyond the maps", v2(kv([]byte{4}, []byte{3}), kv([]byte{5}, []byte{0})), "exceeds what follows"},
		{"counts beyond the maps", append(v2(kv([]byte{4}, []byte{1}), kv([]byte{5}, []byte{1})), 0), "truncated"},
		{"input count with a trailing byte", v2(kv([]byte{4}, []byte{0, 0}), kv([]byte{5}, []byte{0})), "not one compact size"},
		{"tx modifiable of 2 bytes", v2(kv([]byte{4}, []byte{0}), kv([]byte{5}, []byte{0}), kv([]byte{6}, []byte{0, 0})), "not 1"},
		{"v2 negative amount", append(v2(kv([]byte{4}, []byte{0}), kv([]byte{5}, []byte{1})),
			append(kv([]byte{3}, le64(1<<64-1)), append(kv([]byte{4}, []byte{0x51}), 0)...)...), "negative or above 21 million BTC"},
		{"v2 amount above 21 million BTC", append(v2(kv([]byte{4}, []byte{0}), kv([]byte{5}, []byte{1})),
			append(kv([]byte{3}, le64(maxMoney+1)), append(kv([]byte{4}, []byte{0x51}), 0)...)...), "above 21 million BTC"},
		{"unsigned output above 21 million BTC", spendGenesis(t, maxMoney+1, 0, genesisCoinbase), "above 21 million BTC"},
		{"witness utxo above 21 million BTC", spendGenesis(t, 1, 0, genesisCoinbase, kv([]byte{1}, witnessUTXO(maxMoney+1, []byte{0x51}))), "above 21 million BTC"},
		{"witness utxo with extra bytes", spendGenesis(t, 1, 0, genesisCoinbase, kv([]byte{1}, append(witnessUTXO(1, []byte{0x51}), 0))), "extra bytes"},
		{"segwit flag 2", spendGenesis(t, 1, 0, strings.Replace(mainnetSegwitTx, "0200000000010", "0200000000020", 1)), "unknown segwit flag"},
		{"segwit marker, no witness", spendGenesis(t, 1, 0, "020000000001"+mainnetSegwitUnsigned[8:len(mainnetSegwitUnsigned)-8]+"00"+"00000000"), "no witness"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.raw == nil {
				// The genesis spend itself decodes: the cases above
				// fail for their stated reason alone.
				p, err := ParsePSBT(spendGenesis(t, 1, 0, genesisCoinbase, kv([]byte{1}, witnessUTXO(50_0000_0000, genesisP2PK))))
				assert.NilError(t, err)
				fee, ok := p.Fee()
				assert.Check(t, ok)
				assert.Check(t, is.Equal(fee, uint64(50_0000_0000-1)))
				return
			}
			_, err := ParsePSBT(tt.raw)
			assert.ErrorContains(t, err, tt.err)
			assert.Assert(t, strings.HasPrefix(err.Error(), "amount: "), err.Error())
		})
	}
}

// TestPSBTTruncated: every proper prefix of a valid PSBT is refused.
func TestPSBTTruncated(t *testing.T) {
	for _, name := range []string{"input finalizer", "1 input, 2 output updated PSBTv2, with all PSBTv2 fields"} {
		raw, err := base64.StdEncoding.DecodeString(namedVector(t, name))
		assert.NilError(t, err)
		for n := range len(raw) {
			if _, err := ParsePSBT(raw[:n]); err == nil {
				t.Fatalf("%s: %d-byte prefix of %d decoded", name, n, len(raw))
			}
		}
	}
}

func TestPSBTFee(t *testing.T) {
	in := func(v uint64) PSBTInput { return PSBTInput{Value: v, HasUTXO: true} }
	tests := []struct {
		name string
		p    PSBT
		fee  uint64
		ok   bool
	}{
		{"simple", PSBT{Inputs: []PSBTInput{in(1000), in(500)}, Outputs: []TxOut{{Value: 1200}}}, 300, true},
		{"zero fee", PSBT{Inputs: []PSBTInput{in(1000)}, Outputs: []TxOut{{Value: 1000}}}, 0, true},
		{"all of 21 million BTC", PSBT{Inputs: []PSBTInput{in(maxMoney)}, Outputs: []TxOut{{Value: 1}}}, maxMoney - 1, true},
		{"outputs exceed inputs", PSBT{Inputs: []PSBTInput{in(1000)}, Outputs: []TxOut{{Value: 1001}}}, 0, false},
		{"input without utxo", PSBT{Inputs: []PSBTInput{in(1000), {}}}, 0, false},
		{"inputs above 21 million BTC", PSBT{Inputs: []PSBTInput{in(maxMoney), in(1)}}, 0, false},
		{"input near 2^64", PSBT{Inputs: []PSBTInput{in(1<<64 - 1), in(2)}}, 0, false},
		{"outputs that would wrap", PSBT{Inputs: []PSBTInput{in(maxMoney)}, Outputs: []TxOut{{Value: 1<<64 - 1}, {Value: 2}}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fee, ok := tt.p.Fee()
			assert.Equal(t, ok, tt.ok)
			assert.Equal(t, fee, tt.fee)
		})
	}
}

func TestDecodePSBTBase64(t *testing.T) {
	b64 := namedVector(t, "updater")
	_, err := DecodePSBT(" \t\n" + b64 + "\r\n")
	assert.NilError(t, err)
	_, err = DecodePSBT(b64[:40] + "\n" + b64[40:])
	assert.ErrorContains(t, err, "line break")
	_, err = DecodePSBT(strings.TrimRight(b64, "="))
	assert.ErrorContains(t, err, "not base64")
	_, err = DecodePSBT("cHNidP8BAAoAAAAAAAAAAAAAAB==") // non-zero padding bits
	assert.ErrorContains(t, err, "not base64")
	_, err = DecodePSBT("")
	assert.ErrorContains(t, err, "no psbt magic")
}

func TestLockTime(t *testing.T) {
	tests := []struct {
		name           string
		fallback       uint32
		times, heights []uint32
		want           uint32
		ok             bool
	}{
		{"no inputs", 7, nil, nil, 7, true},
		{"none required", 7, []uint32{0, 0}, []uint32{0, 0}, 7, true},
		{"heights", 7, []uint32{0, 0}, []uint32{10, 20}, 20, true},
		{"times", 7, []uint32{600_000_000, 500_000_000}, []uint32{0, 0}, 600_000_000, true},
		{"both kinds everywhere: heights", 0, []uint32{600_000_000, 500_000_000}, []uint32{5, 6}, 6, true},
		{"one input only times", 0, []uint32{600_000_000, 500_000_000}, []uint32{0, 6}, 600_000_000, true},
		{"incompatible", 0, []uint32{600_000_000, 0}, []uint32{0, 6}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lockTime(tt.fallback, tt.times, tt.heights)
			assert.Equal(t, err == nil, tt.ok)
			assert.Equal(t, got, tt.want)
		})
	}
}

// psbtSeeds are the PSBTs of the tests above, for FuzzPSBT.
func psbtSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, v := range allPSBTVectors(t) {
		raw, err := base64.StdEncoding.DecodeString(v.b64)
		assert.NilError(t, err)
		seeds = append(seeds, raw)
	}
	genesisP2PK := unhex(t, "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac")
	return append(seeds,
		spendGenesis(t, 1, 0, genesisCoinbase, kv([]byte{1}, witnessUTXO(50_0000_0000, genesisP2PK))),
		spendGenesis(t, 1, 0, mainnetSegwitTx),
		psbtOf([][]byte{kv([]byte{0}, unhex(t, mainnetSegwitUnsigned))}, [][]byte{kv([]byte{1}, witnessUTXO(507_078, []byte{0x51}))}, nil),
	)
}

// psbtBase64 and samePSBT serve FuzzPSBT.
func psbtBase64(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }

func samePSBT(a, b *PSBT) bool { return reflect.DeepEqual(a, b) }
