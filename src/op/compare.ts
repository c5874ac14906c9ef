import { create } from "@bufbuild/protobuf";
import {
  type Compare,
  CompareSchema,
  Compare_CompareResult,
  Compare_CompareTarget,
} from "../../gen/etcdserverpb/rpc_pb.js";
import { type Bytes, toBytes } from "../util/bytes.js";
import { type Int64, toInt64 } from "../util/int64.js";
import { type RangeOptions, resolveRange } from "./range.js";

/** A txn condition (etcd's `Compare` message), built with `compare.*`. */
export type { Compare };

/** How a compare relates the stored value to the given one. */
export type CompareOperator = "=" | "!=" | ">" | "<";

const results: Record<CompareOperator, Compare_CompareResult> = {
  "=": Compare_CompareResult.EQUAL,
  "!=": Compare_CompareResult.NOT_EQUAL,
  ">": Compare_CompareResult.GREATER,
  "<": Compare_CompareResult.LESS,
};

function build(
  key: Bytes,
  operator: CompareOperator,
  range: RangeOptions | undefined,
  target: Compare_CompareTarget,
  targetUnion: Compare["targetUnion"],
): Compare {
  const result = results[operator];
  if (result === undefined) throw new TypeError(`compare operator must be one of = != > <, got ${String(operator)}`);
  const [k, rangeEnd] = resolveRange(key, range);
  return create(CompareSchema, { key: k, rangeEnd, result, target, targetUnion });
}

/**
 * Txn conditions, like Go's `clientv3.Compare(clientv3.Value(k), "=", v)`.
 * Each takes an optional range (`prefix`, `end`, `fromKey`): the condition
 * must then hold for every key in the range.
 * A missing key has version, create and mod revision 0, lease 0 and no value.
 */
export const compare = {
  /** Compares the value. */
  value(key: Bytes, operator: CompareOperator, value: Bytes, range?: RangeOptions): Compare {
    return build(key, operator, range, Compare_CompareTarget.VALUE, { case: "value", value: toBytes(value, "value") });
  },
  /** Compares the version (number of writes since creation; 0 when missing). */
  version(key: Bytes, operator: CompareOperator, version: Int64, range?: RangeOptions): Compare {
    return build(key, operator, range, Compare_CompareTarget.VERSION, {
      case: "version",
      value: toInt64(version, "version"),
    });
  },
  /** Compares the revision at which the key was created. */
  createRevision(key: Bytes, operator: CompareOperator, revision: Int64, range?: RangeOptions): Compare {
    return build(key, operator, range, Compare_CompareTarget.CREATE, {
      case: "createRevision",
      value: toInt64(revision, "createRevision"),
    });
  },
  /** Compares the revision of the key's last modification. */
  modRevision(key: Bytes, operator: CompareOperator, revision: Int64, range?: RangeOptions): Compare {
    return build(key, operator, range, Compare_CompareTarget.MOD, {
      case: "modRevision",
      value: toInt64(revision, "modRevision"),
    });
  },
  /** Compares the ID of the lease the key is attached to (0: none). */
  lease(key: Bytes, operator: CompareOperator, lease: Int64, range?: RangeOptions): Compare {
    return build(key, operator, range, Compare_CompareTarget.LEASE, { case: "lease", value: toInt64(lease, "lease") });
  },
} as const;
