// Error classification as in aliyun-api.md section 2, including the service's own misspelling.
#include <alivpc/cloud/api_error.hpp>
#include <alivpc/cloud/responses.hpp>

#include <gtest/gtest.h>

namespace cloud = alivpc::cloud;
using cloud::api_error_class;
using cloud::classify;

TEST(ApiErrorClassify, TransientCodesAndServerStatuses) {
  for (auto code : {"Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable",
                    "InternalError", "SystemBusy", "UnknownError"})
    EXPECT_EQ(classify(code, 400), api_error_class::transient) << code;
  EXPECT_EQ(classify("", 503), api_error_class::transient);
  EXPECT_EQ(classify("", 500), api_error_class::transient);
  EXPECT_EQ(classify("SomethingNew", 502), api_error_class::transient);
  EXPECT_EQ(classify("", 429), api_error_class::transient);
}

TEST(ApiErrorClassify, ConflictCodesIncludingTheMisspeltOne) {
  for (auto code : {"TaskConflict", "OperationConflict", "IncorrectRouteEntryStatus",
                    "IncorrcetRouteEntryStatus", "IncorrectStatus.RouteTableStatus",
                    "IncorrectVpcStatus", "LastTokenProcessing", "OperationFailed.DistibuteLock"})
    EXPECT_EQ(classify(code, 400), api_error_class::conflict) << code;
}

TEST(ApiErrorClassify, DuplicateNotFoundQuotaAuthBadRequest) {
  for (auto code : {"InvalidCIDRBlock.Duplicate", "InvalidRouteEntry.Duplicate",
                    "RouterEntryConflict.Duplicated"})
    EXPECT_EQ(classify(code, 400), api_error_class::duplicate) << code;
  EXPECT_EQ(classify("InvalidRouteEntry.NotFound", 404), api_error_class::not_found);
  EXPECT_EQ(classify("QuotaExceeded", 400), api_error_class::quota);
  for (auto code : {"SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound", "SignatureNonceUsed",
                    "Forbidden.RAM", "InvalidTimeStamp.Expired"})
    EXPECT_EQ(classify(code, 403), api_error_class::auth) << code;
  for (auto code : {"InvalidRouteTableId.NotFound", "InvalidVpcId.NotFound",
                    "InvalidNextHopId.NotFound", "InvalidInstanceId.NotFound",
                    "InvalidCidrBlock.Malformed", "OperationDenied", "MissingParameter"})
    EXPECT_EQ(classify(code, 400), api_error_class::bad_request) << code;
}

// FailedRouteEntries[].FailedCode of the batch actions, by the same classifier.
TEST(ApiErrorClassify, BatchEntryCodes) {
  EXPECT_EQ(classify("VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE", 400), api_error_class::duplicate);
  EXPECT_EQ(classify("VPC_ROUTE_ENTRY_STATUS_ERROR", 400), api_error_class::conflict);
  EXPECT_EQ(classify("VPC_ROUTER_ENTRY_NOT_EXIST", 400), api_error_class::not_found);
  EXPECT_EQ(classify("DryRunOperation", 400), api_error_class::bad_request);
}

TEST(ApiError, KindsFollowTheClass) {
  auto make = [](const char* code, unsigned status) {
    return cloud::api_error("CreateRouteEntry", "https://vpc.x", status, code, "m", "rid");
  };
  EXPECT_EQ(make("Throttling", 400).kind(), alivpc::error_kind::transient);
  EXPECT_TRUE(make("Throttling", 400).is_throttling());
  EXPECT_FALSE(make("ServiceUnavailable", 503).is_throttling());
  EXPECT_EQ(make("TaskConflict", 400).kind(), alivpc::error_kind::conflict);
  EXPECT_EQ(make("InvalidRouteEntry.NotFound", 404).kind(), alivpc::error_kind::not_found);
  EXPECT_EQ(make("QuotaExceeded", 400).kind(), alivpc::error_kind::exhausted);
  EXPECT_EQ(make("Forbidden.RAM", 403).kind(), alivpc::error_kind::permanent);
  EXPECT_EQ(make("MissingParameter", 400).kind(), alivpc::error_kind::permanent);
}

TEST(ApiError, MessageNamesActionEndpointStatusCodeAndRequestId) {
  cloud::api_error e("DeleteRouteEntry", "https://vpc.cn-hangzhou.aliyuncs.com:443", 400,
                     "TaskConflict", "The operation conflicts.", "REQ-1");
  std::string what = e.what();
  EXPECT_NE(what.find("DeleteRouteEntry"), std::string::npos);
  EXPECT_NE(what.find("vpc.cn-hangzhou.aliyuncs.com"), std::string::npos);
  EXPECT_NE(what.find("HTTP 400"), std::string::npos);
  EXPECT_NE(what.find("TaskConflict"), std::string::npos);
  EXPECT_NE(what.find("REQ-1"), std::string::npos);
  EXPECT_EQ(e.code(), "TaskConflict");
  EXPECT_EQ(e.request_id(), "REQ-1");
  EXPECT_EQ(e.http_status(), 400u);
}

TEST(ApiError, DropsAnEchoedStringToSignFromTheMessage) {
  cloud::api_error e("DescribeVpcs", "https://vpc.x", 400, "SignatureDoesNotMatch",
                     "Specified signature is not matched with our calculation. server string to "
                     "sign is:GET&%2F&AccessKeyId%3Dtestid%26SecurityToken%3DSTS-SECRET",
                     "R");
  EXPECT_EQ(std::string(e.what()).find("STS-SECRET"), std::string::npos);
  EXPECT_EQ(e.api_message().find("STS-SECRET"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("not matched"), std::string::npos);
}

TEST(ErrorBody, ParsesFieldsIgnoresUnknownAndToleratesGarbage) {
  auto b = cloud::parse_error_body(
      R"({"RequestId":"R1","HostId":"vpc.x","Code":"Throttling","Message":"slow down","Recommend":"https://x"})");
  EXPECT_EQ(b.request_id, "R1");
  EXPECT_EQ(b.code, "Throttling");
  EXPECT_EQ(b.message, "slow down");
  auto empty = cloud::parse_error_body("<html>502 Bad Gateway</html>");
  EXPECT_EQ(empty.code, "");
  auto numeric = cloud::parse_error_body(R"({"Code":404,"Message":["x"]})");
  EXPECT_EQ(numeric.code, "404");
  EXPECT_EQ(numeric.message, "");
}
