import FerryBSON
import Testing

@testable import FerryMQL

@Suite("expressions: strings")
struct ExpressionStringTests {
    @Test func concatSubstrCase() {
        expectExpr(#"{"$concat": ["thermo", "-", "1"]}"#, #""thermo-1""#)
        expectExpr(#"{"$concat": ["a", null]}"#, "null")
        expectExprError(#"{"$concat": ["a", 1]}"#, "$concat only supports strings, not int")
        expectExpr(#"{"$substr": ["abcdef", 2, 3]}"#, #""cde""#)
        expectExpr(#"{"$substrBytes": ["abcdef", 4, -1]}"#, #""ef""#)
        expectExpr(#"{"$substrBytes": ["abc", 10, 2]}"#, #""""#)
        expectExpr(#"{"$substrBytes": [null, 0, 2]}"#, #""""#)
        expectExprError(#"{"$substrBytes": ["cafétéria", 0, 4]}"#, "Invalid range, ending index is in the middle of a UTF-8 character")
        expectExpr(#"{"$substrCP": ["cafétéria", 0, 4]}"#, #""café""#)
        expectExpr(#"{"$substrCP": ["cafétéria", 5, 10]}"#, #""éria""#)
        expectExprError(#"{"$substrCP": ["abc", -1, 1]}"#, "the starting index must be nonnegative integer")
        expectExpr(#"{"$toUpper": "Temp-é"}"#, #""TEMP-é""#)
        expectExpr(#"{"$toLower": "ABC"}"#, #""abc""#)
        expectExpr(#"{"$toLower": 12}"#, #""12""#)
        expectExpr(#"{"$toUpper": null}"#, #""""#)
        expectExpr(#"{"$strcasecmp": ["abc", "ABC"]}"#, "0")
        expectExpr(#"{"$strcasecmp": ["abc", "abd"]}"#, "-1")
    }

    @Test func lengthsAndIndexes() {
        expectExpr(#"{"$strLenBytes": "cafétéria"}"#, "11")
        expectExpr(#"{"$strLenCP": "cafétéria"}"#, "9")
        expectExprError(#"{"$strLenCP": "$missing"}"#, "$strLenCP requires a string argument, found: missing")
        expectExpr(#"{"$indexOfCP": ["cafétéria", "é"]}"#, "3")
        expectExpr(#"{"$indexOfBytes": ["cafétéria", "é"]}"#, "3")
        expectExpr(#"{"$indexOfCP": ["cafétéria", "é", 4]}"#, "5")
        expectExpr(#"{"$indexOfCP": ["abc", "d"]}"#, "-1")
        expectExpr(#"{"$indexOfCP": ["abc", "c", 0, 2]}"#, "-1")
        expectExpr(#"{"$indexOfCP": [null, "a"]}"#, "null")
    }

    @Test func trimSplitReplace() {
        expectExpr(#"{"$trim": {"input": "  \n hello \t"}}"#, #""hello""#)
        expectExpr(#"{"$ltrim": {"input": "xxhixx", "chars": "x"}}"#, #""hixx""#)
        expectExpr(#"{"$rtrim": {"input": "xxhixy", "chars": "xy"}}"#, #""xxhi""#)
        expectExpr(#"{"$trim": {"input": null}}"#, "null")
        expectExprError(#"{"$trim": {"input": 5}}"#, "$trim requires its input to be a string")
        expectExpr(#"{"$split": ["June-15-2013", "-"]}"#, #"["June", "15", "2013"]"#)
        expectExpr(#"{"$split": ["a,,b,", ","]}"#, #"["a", "", "b", ""]"#)
        expectExprError(#"{"$split": ["abc", ""]}"#, "$split requires a non-empty separator")
        expectExpr(#"{"$replaceOne": {"input": "blue paint blue", "find": "blue", "replacement": "red"}}"#, #""red paint blue""#)
        expectExpr(#"{"$replaceAll": {"input": "blue paint blue", "find": "blue", "replacement": "red"}}"#, #""red paint red""#)
        expectExpr(#"{"$replaceAll": {"input": "abc", "find": "", "replacement": "-"}}"#, #""-a-b-c-""#)
        expectExpr(#"{"$replaceOne": {"input": null, "find": "a", "replacement": "b"}}"#, "null")
    }

    @Test func regexExpressions() {
        expectExpr(#"{"$regexMatch": {"input": "Sensor-12", "regex": "^sensor", "options": "i"}}"#, "true")
        expectExpr(#"{"$regexMatch": {"input": null, "regex": "a"}}"#, "false")
        expectExpr(#"{"$regexFind": {"input": "café 12 and 34", "regex": "(\\d)(\\d)"}}"#,
                   #"{"match": "12", "idx": 5, "captures": ["1", "2"]}"#)
        expectExpr(#"{"$regexFind": {"input": "abc", "regex": "(x)?b"}}"#, #"{"match": "b", "idx": 1, "captures": [null]}"#)
        expectExpr(#"{"$regexFind": {"input": "abc", "regex": "z"}}"#, "null")
        expectExpr(#"{"$regexFindAll": {"input": "a1b22c333", "regex": "[0-9]+"}}"#,
                   #"[{"match": "1", "idx": 1, "captures": []}, {"match": "22", "idx": 3, "captures": []}, {"match": "333", "idx": 6, "captures": []}]"#)
        expectExpr(#"{"$regexFindAll": {"input": "ab", "regex": "x*"}}"#,
                   #"[{"match": "", "idx": 0, "captures": []}, {"match": "", "idx": 1, "captures": []}, {"match": "", "idx": 2, "captures": []}]"#)
        expectExpr(#"{"$regexMatch": {"input": "ABC", "regex": {"$regularExpression": {"pattern": "b", "options": "i"}}}}"#, "true")
        expectExprError(#"{"$regexMatch": {"input": "a", "regex": {"$regularExpression": {"pattern": "b", "options": "i"}}, "options": "m"}}"#,
                        "found regex option(s) specified in both 'regex' and 'option' fields")
        expectExprError(#"{"$regexMatch": {"input": 5, "regex": "a"}}"#, "$regexMatch needs 'input' to be of type string")
    }
}
