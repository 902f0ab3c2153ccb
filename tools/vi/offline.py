"""Vietnamese translations of the offline-first tablet page (English msgid -> Vietnamese)."""
VI = {
'%(n)s changes waiting': '%(n)s thay đổi đang chờ gửi',
'Send now': 'Gửi ngay',
'Photo kept on this tablet; it is sent as soon as there is a connection.': 'Ảnh đã được giữ trên máy tính bảng; ảnh sẽ được gửi ngay khi có kết nối.',
'Photo sent.': 'Đã gửi ảnh.',
'The server did not accept a waiting change.': 'Máy chủ không nhận một thay đổi đang chờ gửi.',
'%(item)s: yours %(mine)s, on the server %(theirs)s': '%(item)s: của bạn %(mine)s, trên máy chủ %(theirs)s',
'Not sent: someone else changed this audit.': 'Chưa gửi: người khác đã thay đổi lượt đánh giá này.',
'Your changes stay waiting. Open the zone to compare, then press Send now to keep yours, or discard them.': 'Các thay đổi của bạn vẫn đang chờ. Hãy mở khu vực để so sánh, rồi bấm Gửi ngay để giữ phần của bạn, hoặc bỏ chúng đi.',
'Discard my waiting changes': 'Bỏ các thay đổi đang chờ của tôi',
'Kept on this tablet: it is sent when the connection returns.': 'Đã giữ trên máy tính bảng: sẽ được gửi khi có kết nối trở lại.',
'While you were offline, someone saved other values for these items.': 'Trong lúc bạn mất kết nối, người khác đã lưu giá trị khác cho các mục này.',
}
