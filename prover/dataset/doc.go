// Package dataset reads a CSV training set as a stream of canonical rows: the fixed-point
// integers that the dataset commitment hashes and the circuits prove over.
//
// # Canonical rows
//
// Options names the label column and, optionally, the feature columns. The resolved
// feature order is Options.Features as given, or, when that is empty, the header order of
// every column except the label and Options.Exclude. Data row i (1-based, in file order)
// becomes the canonical row
//
//	v(row i, Features()[0]), …, v(row i, Features()[d-1]), v(row i, Label())
//
// where v is the cell's exact decimal value x rounded to round(x · 2^f), ties to even, and
// required to lie in the signed b-bit range of Options.Format ([fixedpoint.Format.Parse]).
// This sequence, and nothing else of the file, is what a commitment to the dataset hashes:
// the same rows in the same order with the same roles and format always give the same
// integers, whatever the file's quoting, spacing, line endings or byte-order mark.
//
// # Input rules
//
//   - CSV as encoding/csv reads it (RFC 4180): comma-separated, double quotes for quoting,
//     LF or CRLF line ends; blank lines are skipped and do not count as rows, though Line in
//     a [ParseError] counts every line of the file.
//   - The first record is a header of unique, non-empty, UTF-8 column names. A leading UTF-8
//     byte-order mark is dropped; a UTF-16 one is refused. A first line made only of numbers
//     is taken to be a missing header ([ErrNoHeader]).
//   - Every record has as many fields as the header ([ErrFieldCount]).
//   - Spaces and tabs around a column name or a numeric cell are trimmed, inside quotes
//     too, so `1, 53 , " 2"` reads as 1, 53, 2 (NIST and spreadsheet exports pad cells);
//     the names Columns returns are the trimmed ones. Text after a closing quote, even a
//     space, is a quoting error ([ErrQuote]), as RFC 4180 has it.
//   - A feature or label cell is a decimal number: optional sign, digits with an optional
//     point, optional exponent ("-12.5", ".5", "3e-4", "+7"), at most 1024 bytes. Empty
//     cells, NaN, Inf, hex, thousands separators, decimal commas and any other text are
//     errors, and a value outside the format's range is an error, never clipped.
//   - Columns that are neither features nor label are not parsed and may hold anything.
//
// Every problem is reported once, as the first error met: a [*ParseError] with the data row,
// the file line and the column, or, for problems of the whole file or of the options, an
// error wrapping one of the sentinels (ErrEmptyFile, ErrMissingColumn, ...). Callers branch
// with errors.Is; numeric cell errors also match fixedpoint's sentinels.
//
// [Reader] streams one row at a time in memory independent of the number of rows;
// [ReadAll] loads a [Table] for callers, such as trainers, that need every row at once.
//
// The package does not hash, salt or chunk rows (that is prover/commitment), infer types,
// impute missing values, or read other delimiters or encodings.
package dataset
