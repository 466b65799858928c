// Package featurize turns legal text (a clause, a sentence, a filing) into a fixed-length
// vector of integers with a deterministic, versioned featurizer, "comet-legal-hash"
// version 1, and streams a CSV of documents into a CSV of features that prover/dataset can
// commit to.
//
// # Features
//
// Text is split into tokens, maximal runs of Unicode letters, numbers and marks, lower-cased
// code point by code point with unicode.ToLower (Tokenize). The vector is, in order:
//
//   - h000 … h<B-1>: signed feature hashing of the token n-grams, n from NGramMin to
//     NGramMax. An n-gram's bytes are its tokens joined by single spaces; h is their
//     FNV-1a 64; the n-gram adds +1 to column h mod B when bit 63 of h is 0 and −1 when it
//     is 1, once per occurrence (Count) or once per distinct h (Binary).
//   - lex_<category>: for each category of the lexicon (ClaudetteEN1), the number of
//     (position, phrase) matches of its phrases in the lower-cased tokens.
//   - len_tokens: the number of tokens; len_chars: the number of code points of the text
//     with leading and trailing Unicode white space removed.
//
// Every value is an integer, so the output needs no floating point and no decimal
// formatting rule, and it is exact in any fixed-point format with enough integer bits.
// docs/featurize.md gives the definition with test vectors for other implementations.
//
// # Identity
//
// A Spec (name, version, string parameters) names the featurizer exactly; its canonical
// JSON and SHA-256 id go into the public statement. The parameters include the lexicon's
// SHA-256 and the Unicode version of the tables used, and FromSpec refuses a spec that this
// build would not reproduce byte for byte. A Record ties a spec to the SHA-256 of the input
// corpus and of the feature file, and the row count.
//
// # Labels and splits
//
// A LabelMap rewrites labels on the way through (0/1 to the ±1 a classifier's evaluation
// needs), and SplitCSV sends each row to a training or a test output by the value of a split
// column, in one pass; the Record then states the map and the split, with both outputs.
//
// The package does not normalise Unicode (NFC/NFKC), stem, remove stop words, detect the
// language, split documents into sentences, or learn anything from the corpus: the same
// text and spec always give the same vector, whatever else is in the file.
package featurize
