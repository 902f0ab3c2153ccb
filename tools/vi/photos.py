"""Vietnamese translations of the photos feature (English msgid -> Vietnamese)."""
VI = {
'A photo with this id already exists elsewhere.': 'Đã có một ảnh mang mã này ở chỗ khác.',
'The caption is too long (at most %(n)d characters).': 'Chú thích quá dài (tối đa %(n)d ký tự).',
'%(format)s images are not accepted. Please upload a JPEG, PNG, WebP or HEIC photo.':
    'Không nhận ảnh định dạng %(format)s. Vui lòng tải lên ảnh JPEG, PNG, WebP hoặc HEIC.',
'The image is too large (%(width)dx%(height)d pixels): photos may have at most 50 megapixels.':
    'Ảnh quá lớn (%(width)dx%(height)d điểm ảnh): mỗi ảnh tối đa 50 megapixel.',
'The uploaded file is empty.': 'Tệp tải lên bị trống.',
'The uploaded file is not an image.': 'Tệp tải lên không phải là ảnh.',
'This type of image is not accepted. Please upload a JPEG, PNG, WebP or HEIC photo.':
    'Không nhận loại ảnh này. Vui lòng tải lên ảnh JPEG, PNG, WebP hoặc HEIC.',
'The image is damaged or incomplete and cannot be read.': 'Ảnh bị hỏng hoặc không đầy đủ nên không đọc được.',
'The image is too large: photos may have at most 50 megapixels.': 'Ảnh quá lớn: mỗi ảnh tối đa 50 megapixel.',
'The photo could not be processed.': 'Không xử lý được ảnh.',
'The image file of this photo is missing.': 'Không tìm thấy tệp hình của ảnh này.',
'Choose a photo to upload.': 'Hãy chọn một ảnh để tải lên.',
'Photo added.': 'Đã thêm ảnh.',
'This photo is already attached here.': 'Ảnh này đã được đính kèm ở đây.',
'Photo removed.': 'Đã xoá ảnh.',
'Photo %(n)d': 'Ảnh %(n)d',
'Remove photo %(n)d': 'Xoá ảnh %(n)d',
'Photo': 'Ảnh',
'or from the gallery': 'hoặc chọn từ thư viện',
'Upload': 'Tải lên',
'Photos from the baseline audit': 'Ảnh đợt đánh giá đầu kỳ',
'Baseline photo': 'Ảnh đầu kỳ',
'Photos of the whole audit': 'Ảnh chung của cuộc đánh giá',
'No photos yet.': 'Chưa có ảnh.',
'Photo not added': 'Chưa thêm được ảnh',
'Back to the audit': 'Quay lại cuộc đánh giá',
'Photo added': 'Đã thêm ảnh',
'Photo removed': 'Đã xoá ảnh',
}
