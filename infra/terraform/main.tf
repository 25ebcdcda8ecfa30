# The stage's AWS resources, created from chalicelib/core/resources.json: the same definitions the app
# and the local stack read, so names, keys, indexes, redrive policies and notifications agree.
# (Deployment as a whole - IAM, the GPU fleet, CDN - is issue 7's; this is the data plane.)

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "stage" {
  description = "The Chalice stage these resources belong to (dev, orch-a, prod, ...)"
  type        = string
}

variable "roles" {
  description = "The roles the stage plays: gateway, orchestrator or both"
  type        = list(string)
}

locals {
  defs   = jsondecode(file("${path.module}/../../chalicelib/core/resources.json"))
  prefix = "${local.defs.project}-${var.stage}"

  buckets = { for k, v in local.defs.buckets : k => v if length(setintersection(v.roles, var.roles)) > 0 }
  tables  = { for k, v in local.defs.tables : k => v if length(setintersection(v.roles, var.roles)) > 0 }
  queues  = { for k, v in local.defs.queues : k => v if length(setintersection(v.roles, var.roles)) > 0 }
  keys    = { for k, v in try(local.defs.keys, {}) : k => v if length(setintersection(v.roles, var.roles)) > 0 }

  notifications = flatten([
    for b, def in local.buckets : [
      for n in def.notifications : { bucket = b, queue = n.queue, prefix = n.prefix, suffix = n.suffix, events = n.events }
    ]
  ])
}

# A FIFO queue ("fifo": true in resources.json) and its dead-letter queue are both FIFO, named *.fifo.
resource "aws_sqs_queue" "dlq" {
  for_each                  = local.queues
  name                      = "${local.prefix}-${each.key}-dlq${try(each.value.fifo, false) ? ".fifo" : ""}"
  fifo_queue                = try(each.value.fifo, false)
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "queue" {
  for_each                   = local.queues
  name                       = "${local.prefix}-${each.key}${try(each.value.fifo, false) ? ".fifo" : ""}"
  fifo_queue                 = try(each.value.fifo, false)
  visibility_timeout_seconds = each.value.visibilityTimeout
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.maxReceiveCount
  })
}

resource "aws_dynamodb_table" "table" {
  for_each     = local.tables
  name         = "${local.prefix}-${each.key}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.hashKey[0]
  range_key    = try(each.value.rangeKey[0], null)

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }

  # Tables whose items expire ("ttlAttribute" in resources.json: the webhook delivery log).
  dynamic "ttl" {
    for_each = try([each.value.ttlAttribute], [])
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  dynamic "attribute" {
    for_each = distinct(concat(
      [each.value.hashKey],
      try([each.value.rangeKey], []),
      values(try(each.value.indexes, {})),
    ))
    content {
      name = attribute.value[0]
      type = attribute.value[1]
    }
  }

  dynamic "global_secondary_index" {
    for_each = try(each.value.indexes, {})
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value[0]
      projection_type = "ALL"
    }
  }
}

# Symmetric keys the app encrypts with, reached by alias (alias/<prefix>-<stage>-<name>): the "webhooks" key
# seals webhook shared secrets. Rotated yearly; a deleted key waits 30 days, so nothing sealed is lost by mistake.
resource "aws_kms_key" "key" {
  for_each                = local.keys
  description             = "${local.prefix}-${each.key}: ${try(each.value.description, "")}"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "key" {
  for_each      = local.keys
  name          = "alias/${local.prefix}-${each.key}"
  target_key_id = aws_kms_key.key[each.key].key_id
}

resource "aws_s3_bucket" "bucket" {
  for_each = local.buckets
  bucket   = "${local.prefix}-${each.key}"
}

resource "aws_s3_bucket_public_access_block" "bucket" {
  for_each                = local.buckets
  bucket                  = aws_s3_bucket.bucket[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "s3_to_queue" {
  for_each = { for n in local.notifications : n.queue => n... }
  statement {
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.queue[each.key].arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for n in each.value : aws_s3_bucket.bucket[n.bucket].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "s3_to_queue" {
  for_each  = data.aws_iam_policy_document.s3_to_queue
  queue_url = aws_sqs_queue.queue[each.key].id
  policy    = each.value.json
}

resource "aws_s3_bucket_notification" "bucket" {
  for_each = { for b, def in local.buckets : b => def if length(def.notifications) > 0 }
  bucket   = aws_s3_bucket.bucket[each.key].id

  dynamic "queue" {
    for_each = each.value.notifications
    content {
      queue_arn     = aws_sqs_queue.queue[queue.value.queue].arn
      events        = queue.value.events
      filter_prefix = queue.value.prefix
      filter_suffix = queue.value.suffix
    }
  }
  depends_on = [aws_sqs_queue_policy.s3_to_queue]
}

output "queues" {
  value = { for k, q in aws_sqs_queue.queue : k => q.url }
}

output "tables" {
  value = { for k, t in aws_dynamodb_table.table : k => t.name }
}

output "buckets" {
  value = { for k, b in aws_s3_bucket.bucket : k => b.bucket }
}

output "keys" {
  value = { for k, a in aws_kms_alias.key : k => a.name }
}
