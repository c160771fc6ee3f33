-- FIFO receives take one message group's messages in Seq order. Only
-- messages with a group are indexed, so standard queues without groups do
-- not pay for it; queries name "group_id <> ''" to use it.
CREATE INDEX q_msg_group_seq ON q_msg (queue, group_id, seq) WHERE group_id <> '';
