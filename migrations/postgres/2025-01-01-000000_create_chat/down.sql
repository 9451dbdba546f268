DROP TABLE canned_replies;
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE sessions;
DROP TABLE users;
