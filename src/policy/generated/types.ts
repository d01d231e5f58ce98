// Generated from charts/bulwark/files/crds by scripts/generate-policy-types.ts. Do not edit.
/* eslint-disable */

export interface ImmutabilityPolicy {
  apiVersion?: string;
  kind?: string;
  metadata?: import("../../admission/types.ts").ObjectMeta;
  spec: {
    match?: {
      /**
       * @maxItems 64
       */
      resources?: {
        /**
         * @maxItems 64
         */
        apiGroups?: string[];
        /**
         * @minItems 1
         * @maxItems 64
         */
        kinds: string[];
      }[];
      /**
       * @maxItems 256
       */
      namespaces?: string[];
      namespaceSelector?: {
        matchLabels?: {
          [k: string]: string | undefined;
        };
        /**
         * @maxItems 32
         */
        matchExpressions?: {
          key: string;
          operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
          values?: string[];
        }[];
      };
      objectSelector?: {
        matchLabels?: {
          [k: string]: string | undefined;
        };
        /**
         * @maxItems 32
         */
        matchExpressions?: {
          key: string;
          operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
          values?: string[];
        }[];
      };
    };
    /**
     * @minItems 1
     * @maxItems 2
     */
    operations?: ("UPDATE" | "DELETE")[];
    /**
     * @maxItems 128
     */
    allowedChanges?: string[];
    exemptSubjects?: {
      /**
       * @maxItems 128
       */
      users?: string[];
      /**
       * @maxItems 128
       */
      groups?: string[];
      /**
       * @maxItems 128
       */
      serviceAccounts?: {
        namespace: string;
        name: string;
      }[];
    };
    enforcement?: "Enforce" | "Warn" | "Audit";
    message?: string;
    unlock?: {
      approvalsRequired?: number;
      rollbackApprovals?: number;
      /**
       * @maxItems 64
       */
      approverGroups?: string[];
      maxDuration?: string;
      requesterOnly?: boolean;
      emergency?: {
        approvalsRequired?: number;
        selfApproval?: boolean;
        maxDuration?: string;
        reviewsRequired?: number;
        reviewWithin?: string;
      };
      usableBy?: {
        /**
         * @maxItems 64
         */
        users?: string[];
        /**
         * @maxItems 64
         */
        groups?: string[];
      };
    };
  };
  status?: {
    observedGeneration?: number;
    conditions?: {
      type: string;
      status: "True" | "False" | "Unknown";
      reason?: string;
      message?: string;
      observedGeneration?: number;
      lastTransitionTime?: string;
    }[];
  };
}

export interface ImagePolicy {
  apiVersion?: string;
  kind?: string;
  metadata?: import("../../admission/types.ts").ObjectMeta;
  spec: {
    /**
     * @minItems 1
     * @maxItems 128
     */
    images: string[];
    match?: {
      /**
       * @maxItems 256
       */
      namespaces?: string[];
      namespaceSelector?: {
        matchLabels?: {
          [k: string]: string | undefined;
        };
        /**
         * @maxItems 32
         */
        matchExpressions?: {
          key: string;
          operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
          values?: string[];
        }[];
      };
    };
    requireDigest?: boolean;
    threshold?: number;
    /**
     * @maxItems 32
     */
    required?: string[];
    /**
     * @minItems 1
     * @maxItems 32
     */
    authorities: {
      name: string;
      key?: {
        publicKey?: string;
        secretRef?: {
          namespace: string;
          name: string;
          key?: string;
        };
      };
      keyless?: {
        trustedRootRef: {
          namespace: string;
          name: string;
          key?: string;
        };
        /**
         * @minItems 1
         * @maxItems 32
         */
        identities: {
          issuer?: string;
          issuerRegExp?: string;
          subject?: string;
          subjectRegExp?: string;
        }[];
      };
      /**
       * @maxItems 4096
       */
      digests?: string[];
    }[];
    /**
     * @maxItems 16
     */
    attestations?: {
      name: string;
      predicateType: string;
      /**
       * @maxItems 32
       */
      authorities?: string[];
      /**
       * @maxItems 32
       */
      conditions?: {
        expression: string;
        message?: string;
      }[];
    }[];
    registry?: {
      insecure?: boolean;
      caBundle?: string;
      credentialsSecretRef?: {
        namespace: string;
        name: string;
      };
    };
    enforcement?: "Enforce" | "Warn" | "Audit";
    unmatchedImages?: "Deny" | "Allow";
  };
  status?: {
    observedGeneration?: number;
    conditions?: {
      type: string;
      status: "True" | "False" | "Unknown";
      reason?: string;
      message?: string;
      observedGeneration?: number;
      lastTransitionTime?: string;
    }[];
  };
}

export interface UnlockRequest {
  apiVersion?: string;
  kind?: string;
  metadata?: import("../../admission/types.ts").ObjectMeta;
  spec: {
    target: {
      apiVersion: string;
      kind: string;
      namespace?: string;
      name: string;
    };
    /**
     * @minItems 1
     * @maxItems 3
     */
    operations: ("UPDATE" | "DELETE" | "Unlabel")[];
    reason: string;
    duration: string;
    requester: string;
    change?: {
      /**
       * @minItems 1
       * @maxItems 256
       */
      patch: {
        op: "add" | "remove" | "replace" | "move" | "copy" | "test";
        path: string;
        from?: string;
        value?: unknown;
      }[];
    };
    ticket?: string;
    emergency?: boolean;
    /**
     * @maxItems 16
     */
    reviews?: {
      user: string;
      /**
       * @maxItems 256
       */
      groups?: string[];
      time?: string;
      comment?: string;
      attestation?: {
        keyId: string;
        at: string;
        mac: string;
      };
    }[];
    /**
     * @maxItems 16
     */
    rejections?: {
      user: string;
      /**
       * @maxItems 256
       */
      groups?: string[];
      time?: string;
      comment?: string;
      attestation?: {
        keyId: string;
        at: string;
        mac: string;
      };
    }[];
    rollback?: {
      hash: string;
    };
    /**
     * @maxItems 16
     */
    approvals?: {
      user: string;
      /**
       * @maxItems 256
       */
      groups?: string[];
      time?: string;
      comment?: string;
      attestation?: {
        keyId: string;
        at: string;
        mac: string;
      };
    }[];
  };
  status?: {
    phase?: "Pending" | "Approved" | "Active" | "Used" | "Expired" | "Rejected";
    approvals?: string;
    approvalsCounted?: number;
    approvalsRequired?: number;
    expiresAt?: string;
    allows?: string;
    message?: string;
    baseTargetResourceVersion?: string;
    reviews?: string;
    reviewDeadline?: string;
    reviewed?: boolean;
    violation?: string;
    observedGeneration?: number;
  };
}
